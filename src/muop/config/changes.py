"""How the run config's schema changed since runs were first recorded, and reading old records.

Records (sweeps' ``runs.jsonl``, studies' ``config`` attribute, training states) carry the hash of
the config that made them. :func:`identity_dicts` writes a config as each earlier schema did, so
old records are still recognised; :func:`upgrade_record` fills the fields an old record lacks
with the values that did what that schema did.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from ..models.fno import FNOConfig

__all__ = ["SCHEMA_CHANGES", "RENAMED", "identity_dicts", "upgrade_record"]

#: How the config's fields changed since runs were first recorded, oldest first: ("added",
#: section, field, the value that does what configs without the field did) or ("renamed", section,
#: old name, new name). Old names are read as the new ones, and :meth:`RunConfig.identities` also
#: hashes a config as each earlier schema wrote it, so runs and sweeps recorded before a change
#: still resume. A *default* that changed is not listed here: a config's identity hashes every
#: field, so records keep theirs, and a YAML file that omits the field takes the new default
#: (``model.block``: classic until muop 0.2, neuralop since; the committed experiment configs
#: say ``block: classic``).
SCHEMA_CHANGES = (
    ("added", "data", "grid_dims", None),
    ("added", "train", "checkpoint_every", 5),
    ("added", "train", "device", "cpu"),
    ("renamed", "model", "grid", "append_coords"),
    ("added", "data", "test_path", None),
    ("added", "train", "parallel", "ddp"),
    ("added", "parametrization", "init_scale", 1.0),
    ("added", "parametrization", "multipliers", {}),
    ("added", "parametrization", "overrides", {}),
    ("added", "model", "block", "classic"),
    ("added", "model", "library", "muop"),
    ("added", "model", "name", "FNO"),
    ("added", "model", "options", {}),
    ("added", "model", "residual", "none"),
    ("added", "parametrization", "base_depth", None),
    ("added", "parametrization", "depth_alpha", 0.5),
    ("added", "train", "precision", "fp32"),
    ("added", "train", "compile", False),
    ("added", "train", "checkpoint_activations", False),
)
RENAMED = {(sec, old): new for kind, sec, old, new in SCHEMA_CHANGES if kind == "renamed"}


def identity_dicts(d: dict) -> list[dict]:
    """``d`` (a config's ``to_dict``) as each schema of :data:`SCHEMA_CHANGES` wrote it, the current
    one first; schemas that cannot express it (an added field away from its old value) are left out."""
    d = copy.deepcopy(d)
    out = [copy.deepcopy(d)]
    for kind, sec, a, b in reversed(SCHEMA_CHANGES):
        if kind == "renamed":
            d[sec][a] = d[sec].pop(b)
        elif d[sec][a] == b:
            del d[sec][a]
        else:
            break
        out.append(copy.deepcopy(d))
    return out


def upgrade_record(d: Mapping) -> dict:
    """A recorded config (``to_dict`` output) with every field it lacks set to the value that did
    what its schema did (:data:`SCHEMA_CHANGES`), not today's default: e.g. ``model.block: classic``."""
    d = copy.deepcopy(dict(d))
    for kind, sec, name, old in SCHEMA_CHANGES:
        if kind == "added" and isinstance(d.get(sec), dict):
            renamed = {RENAMED.get((sec, k), k) for k in d[sec]}
            if name not in renamed:
                d[sec][name] = copy.deepcopy(old)
    model = d.get("model")
    if isinstance(model, dict) and model.get("library", "muop") != "muop":
        model["block"] = FNOConfig.block  # meaningless for other libraries; recorded as "classic" before 0.2
    return d
