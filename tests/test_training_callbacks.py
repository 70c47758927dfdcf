"""Callbacks (muop.training.callbacks): the divergence stop."""

from types import SimpleNamespace

import pytest

from muop.training import DivergenceStop


@pytest.mark.parametrize(
    "losses,diverged_at",
    [([1.0, 2.0, 999.0], None), ([1.0, 2.0, 1001.0], 3), ([1.0, float("nan")], 2), ([float("inf")], 1)],
)
def test_divergence_stop(losses, diverged_at):
    cb = DivergenceStop(factor=1000)
    trainer = SimpleNamespace(
        state=SimpleNamespace(train_loss=None, first_loss=None, diverged=False, stop=False, epoch=0)
    )
    for i, loss in enumerate(losses, 1):
        trainer.state.train_loss, trainer.state.epoch = loss, i
        cb.on_epoch_end(trainer)
        if trainer.state.stop:
            break
    assert (trainer.state.epoch if trainer.state.diverged else None) == diverged_at
