"""Shared fixtures: torch threads and seed per test, the tiny run, a proxy to tune, a PostgreSQL server,
the command line in this process.

The suite runs on pytest-xdist (``-n 2``, set in ``pyproject.toml``); each worker process gets its
share of the cores as torch threads, so two workers do not oversubscribe a 2-core machine.

**No silent skips in CI.** Locally a test skips when an optional part is missing (neuraloperator,
Ray, psycopg, a PostgreSQL server, ``../shared/data``). With ``CI=true`` (set by CI) or
``MUOP_REQUIRE_ALL=1`` every such skip is a failure that names what is missing, since ``make test``
installs all of them; only tests that need a CUDA GPU may skip there.
"""

import json
import os

import pytest
import torch

from muop.config import RunConfig
from tiny_configs import tiny_burgers

#: A training run of a second or less: Burgers at 64 points, a width-8 FNO with 6 modes, 3 epochs.
TINY = {
    "data": {"problem": "burgers", "n_train": 24, "n_test": 8, "resolution": 64, "params": {"T": 0.2}},
    "model": {"modes": [6], "width": 8, "depth": 2},
    "train": {"epochs": 3, "batch_size": 8},
}

#: torch threads per test process: the cores shared out between the xdist workers (at least 1).
THREADS = max(1, min(2, (os.cpu_count() or 1) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))))


#: Marks of the tests that take seconds (processes, servers, training): they start first, so that
#: the two xdist workers end together instead of one waiting for a long test picked up last.
HEAVY = ("faults", "slow", "postgres", "ray")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not any(item.get_closest_marker(m) for m in HEAVY))  # stable: file order within


#: Whether every optional dependency must be present (CI): then a skip fails the test.
REQUIRE_ALL = os.environ.get("CI", "").lower() == "true" or bool(os.environ.get("MUOP_REQUIRE_ALL"))
#: Skips that stay skips everywhere: hardware this machine may lack.
HARDWARE = ("CUDA", "GPU")


def _no_silent_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    """In CI, turn a skip (of a test, or of a whole module at collection) into a failure naming its reason."""
    if REQUIRE_ALL and report.skipped and not hasattr(report, "wasxfail"):
        reason = str(report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr)
        if not any(word in reason for word in HARDWARE):
            report.outcome = "failed"
            report.longrepr = f"skipped in CI, where make test installs everything: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    _no_silent_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    outcome = yield
    _no_silent_skip(outcome.get_result())


@pytest.fixture(autouse=True)
def _threads_and_seed():
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    yield


@pytest.fixture
def tiny_dict(tmp_path) -> dict:
    """A fresh copy of :data:`TINY` with its data cached in this test's temporary directory."""
    d = json.loads(json.dumps(TINY))
    d["data"]["cache_dir"] = str(tmp_path / "cache")
    return d


@pytest.fixture
def tiny(tiny_dict) -> RunConfig:
    """:data:`TINY` with its data cached in this test's temporary directory."""
    return RunConfig.from_dict(tiny_dict)


@pytest.fixture
def tune_cfg(tmp_path) -> RunConfig:
    """A proxy to tune: Burgers at 64 points with a validation split, 2 epochs, a search space of three."""
    return RunConfig.from_dict(
        tiny_burgers(
            tmp_path / "cache",
            train={"epochs": 2, "batch_size": 8},
            tune={"lr": [1e-3, 1e-1], "batch_size": [6, 12], "beta2": [0.9, 0.999]},
        )
    )


@pytest.fixture(scope="session")
def pg_url():
    """A throw-away PostgreSQL server on loopback for this test process (tests/pg_server.py); its URL.

    The tests that use it are in the xdist group ``postgres``, so one worker starts one server."""
    from pg_server import local_postgres, pg_bin

    if pg_bin() is None:
        if os.environ.get("MUOP_REQUIRE_POSTGRES"):  # the older switch, kept: .ci/run sets it
            pytest.fail("MUOP_REQUIRE_POSTGRES is set but PostgreSQL is not installed")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    pytest.importorskip("psycopg", reason="the postgres extra is not installed (pip install 'muop[postgres]')")
    with local_postgres() as url:
        yield url


@pytest.fixture
def muop_cli(capsys):
    """Run the ``muop`` command in this process: ``muop_cli(*argv)`` -> ``(exit code, stdout, stderr)``.

    An exception the command line does not handle fails the test as a traceback would; argparse's
    usage errors (SystemExit) give their exit code."""
    from muop.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            code = main(list(argv))
        except SystemExit as e:
            code = e.code
        out, err = capsys.readouterr()
        return code, out, err

    return run
