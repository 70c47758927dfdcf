"""Run by tests/test_training_distributed.py under torchrun (2 processes, gloo): one check per mode.

usage: python -m torch.distributed.run --standalone --nproc-per-node 2 tests/ddp_worker.py MODE CONFIG OUT
"""

import sys

import torch

from muop.config import load_config
from muop.data import prepare_data
from muop.training import Callback, Trainer, from_env
from muop.training.distributed import check_plan


class StopAfter(Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, trainer):
        trainer.state.stop = trainer.state.epoch >= self.epoch


def main(mode: str, config: str, out: str) -> None:
    cfg = load_config(config)
    dist = from_env()
    data = prepare_data(cfg.data)
    if mode == "plan":  # μP learning rates intact after wrapping, for both strategies
        for parallel in ("ddp", "fsdp"):
            c = load_config(
                config, [f"train.parallel={parallel}", "parametrization.base_width=4"]
            )  # μP away from its base
            s = Trainer(c, data, dist=dist).setup
            check_plan(s.optimizer, s.plan, s.model, c.optimizer.lr, c.optimizer.name)
            names = {n for g in s.optimizer.param_groups for n in g["muop_names"]}
            assert names == {e.name for e in s.plan.entries}
            params = {id(p) for g in s.optimizer.param_groups for p in g["params"]}
            assert params == {id(p) for p in s.model.parameters()}, parallel  # the live (sharded) parameters
            assert len({g["lr"] for g in s.optimizer.param_groups}) > 1  # μP: several learning rates
        print("plan ok", flush=True)
    elif mode == "save":  # train 2 of the epochs, save the whole state
        trainer = Trainer(cfg, data, callbacks=[StopAfter(2)], dist=dist)
        trainer.fit()
        state = trainer.state_dict()
        if dist.is_main:
            torch.save(state, out)
    elif mode == "resume":  # resume a state saved by another number of processes, finish, save the model
        trainer = Trainer(cfg, data, dist=dist)
        trainer.load_state_dict(torch.load(out, weights_only=True))
        trainer.fit()
        model = trainer.model_state()
        if dist.is_main:
            torch.save({"model": model, "test": trainer.evaluate(data.test)}, out + ".final")


if __name__ == "__main__":
    main(*sys.argv[1:4])
