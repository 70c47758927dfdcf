"""``muop data generate`` and ``muop data info`` (muop.cli.data): options, help, a file generated and
described, bad input."""

from dataclasses import fields

import pytest

from cli_helpers import parsers
from muop.cli import build_parser
from muop.data import PROBLEMS


def test_param_help_lists_each_problem_s_keys(monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # no line breaks inside the lists
    gen = dict(parsers(build_parser()))["muop data generate"]
    text = gen.format_help()
    for name, prob in PROBLEMS.items():
        assert f"{name}: {', '.join(f.name for f in fields(prob.params_type))}" in text


def test_data_generate_takes_threads_and_the_old_workers_spelling_quietly(capsys):
    ap = build_parser()
    base = ["data", "generate", "burgers", "--n-train", "2", "--n-test", "1", "--resolution", "16", "--out", "d.h5"]
    assert ap.parse_args(base).threads == 2
    assert ap.parse_args([*base, "--threads", "3"]).threads == 3
    capsys.readouterr()
    assert ap.parse_args([*base, "--workers", "4"]).threads == 4
    assert "--workers is deprecated here; use --threads" in capsys.readouterr().err
    help_text = dict(parsers(ap))["muop data generate"].format_help()
    assert "--threads" in help_text and "--workers" not in help_text


def test_cli_generate_and_info(tmp_path, muop_cli):
    out = tmp_path / "b.h5"
    code, _, err = muop_cli(
        "data",
        "generate",
        "burgers",
        "--n-train",
        "4",
        "--n-test",
        "2",
        "--resolution",
        "64",
        "--param",
        "T=0.05",
        "--out",
        str(out),
    )
    assert code == 0, err
    code, stdout, _ = muop_cli("data", "info", str(out), "--verify")
    assert code == 0 and "(4, 1, 64)" in stdout and "checksum verified" in stdout and '"nu": 0.1' in stdout


@pytest.mark.parametrize(
    "args,needle",
    [
        (
            "data generate burgers --n-train 2 --n-test 1 --resolution 64 --param nuu=1 --out x.h5".split(),
            "unknown burgers parameter",
        ),
        (
            ["data", "generate", "darcy", "--n-train", "-1", "--n-test", "1", "--resolution", "17", "--out", "x.h5"],
            "--n-train: '-1' must be a positive integer",
        ),
        (
            ["data", "generate", "darcy", "--n-train", "1", "--n-test", "1", "--resolution", "2", "--out", "x.h5"],
            "resolution=2",
        ),
        (
            "data generate burgers --n-train 2 --n-test 1 --resolution 64 --param nu=abc --out x.h5".split(),
            "param nu='abc': expected a number (float) for burgers; allowed keys:",
        ),
        (["data", "info", "missing.h5"], "does not exist"),
    ],
)
def test_cli_bad_input(args, needle, tmp_path, monkeypatch, muop_cli):
    monkeypatch.chdir(tmp_path)
    code, _, err = muop_cli(*args)
    assert code == 2 and needle in err and "Traceback" not in err
    assert (
        not (tmp_path / "x.h5").exists()
        and not (tmp_path / "x.h5.partial").exists()
        and not (tmp_path / "x.h5.lock").exists()
    )
