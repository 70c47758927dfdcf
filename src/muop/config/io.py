"""Run configs from YAML files and ``section.field=value`` overrides (the command line's ``--set``).

A missing file, a directory, bytes that are not UTF-8, invalid YAML, a key given twice, an empty
file and a file without any known section are one-line errors: a config never silently loses a
section or falls back to the defaults.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import yaml

from ..errors import ConfigError
from .changes import RENAMED
from .run import SECTIONS, RunConfig

__all__ = ["load_config", "apply_overrides"]


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, but a key given twice in one mapping is an error (YAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice (first at line {seen[key] + 1})", key_node.start_mark
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def _read_yaml(p: Path) -> object:
    """The YAML document in ``p``; a missing file, a directory, non-UTF-8 bytes or bad YAML is one line."""
    if not p.exists():
        raise FileNotFoundError(f"config file {p} does not exist")
    if not p.is_file():
        raise ConfigError(f"config {str(p)!r}: is a directory, not a file; expected a YAML run config")
    try:
        doc = yaml.load(p.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except UnicodeDecodeError as e:
        raise ConfigError(f"config {str(p)!r}: byte {e.start} is not UTF-8 text; expected a YAML run config") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{p}: not valid YAML{where}: {what}") from None
    if doc is None:
        raise ConfigError(f"config {str(p)!r} is empty; expected a YAML run config with sections such as data:, model:")
    return doc


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> RunConfig:
    """Read a YAML run config (``None``: the defaults) and apply ``section.field=value`` overrides."""
    d: dict = {}
    if path is not None:
        d = _read_yaml(Path(path))
        if not isinstance(d, dict):
            raise ConfigError(f"{path}: expected a mapping of sections, got {type(d).__name__}")
        if not d:
            raise ConfigError(f"config {str(path)!r} has no sections; expected some of {', '.join(SECTIONS)}")
    cfg = RunConfig.from_dict(d)
    return apply_overrides(cfg, overrides or [])


def apply_overrides(cfg: RunConfig, overrides: list[str]) -> RunConfig:
    """Apply ``section.field=value`` strings (values parsed as YAML: ``lr=3e-3``, ``modes=[8,8]``)."""
    d = cfg.to_dict()
    keys = {item.partition("=")[0] for item in overrides}
    if "data.path" in keys and "data.problem" not in keys:
        d["data"]["problem"] = None  # a file replaces the built-in problem
    for item in overrides:
        key, sep, raw = item.partition("=")
        sec, dot, name = key.partition(".")
        name = RENAMED.get((sec, name), name)
        if not sep or not dot:
            raise ConfigError(f"override {item!r}: expected section.field=value, e.g. optimizer.lr=3e-3")
        if sec not in d:
            raise ConfigError(f"override {item!r}: unknown section {sec!r}; allowed: {sorted(SECTIONS)}")
        try:
            d[sec][name] = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise ConfigError(f"override {item!r}: cannot parse value {raw!r}") from None
        if name not in {f.name for f in fields(SECTIONS[sec])}:
            raise ConfigError(f"unknown key {key!r}; allowed in {sec}: {sorted(f.name for f in fields(SECTIONS[sec]))}")
    return RunConfig.from_dict(d)
