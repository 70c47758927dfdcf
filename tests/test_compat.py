"""The old module paths of muop 0.2 (muop._compat) keep working for one release: each
imports, warns with a DeprecationWarning naming its new home, and holds the very objects of its new
home(s), so code that holds the old names keeps working and monkeypatching is done on the new module."""

import importlib
import sys
import warnings

import pytest

from muop._compat import MOVED


def _import_fresh(old: str):
    sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    return module, caught


def _public(module) -> list[str]:
    return list(getattr(module, "__all__", [n for n in vars(module) if not n.startswith("_")]))


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_path_imports_warns_naming_its_new_home_and_holds_the_same_objects(old):
    module, caught = _import_fresh(old)
    warned = [w for w in caught if issubclass(w.category, DeprecationWarning) and old in str(w.message)]
    assert len(warned) == 1, [str(w.message) for w in caught]
    message = str(warned[0].message)
    assert all(home in message for home in MOVED[old]), message
    seen: set[str] = set()
    for home_name in MOVED[old]:  # the first home wins a name two of them share
        home = importlib.import_module(home_name)
        names = [n for n in _public(home) if hasattr(home, n) and n not in seen]
        assert names, home_name
        for n in names:
            assert getattr(module, n) is getattr(home, n), f"{old}.{n} is not {home_name}.{n}"
        seen.update(names)


def test_old_names_users_hold_are_the_new_objects():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import muop.trainer
        from muop.workers import run_study

    import muop.study

    assert muop.trainer.build is muop.training.trainer.build and muop.trainer.Trainer is muop.training.trainer.Trainer
    assert run_study is muop.study.run_study
