"""The errors muop raises on purpose (muop.errors): all ValueErrors, one type per kind of mistake, and
``expect``, the one-line check of a config field."""

import pytest

from muop.errors import (
    ConfigError,
    DataError,
    InputError,
    StateError,
    StorageError,
    UsageError,
    expect,
    was_interrupted,
)


def test_input_errors_are_value_errors_and_bugs_are_not():
    assert (
        issubclass(InputError, ValueError) and issubclass(ConfigError, InputError) and issubclass(DataError, InputError)
    )


def test_every_kind_of_mistake_is_an_input_error_and_expect_names_the_field():
    assert all(issubclass(e, InputError) for e in (UsageError, ConfigError, DataError, StorageError, StateError))
    expect(True, "model.width", 8, "a positive integer")
    with pytest.raises(ConfigError, match=r"^model.width=-3: expected a positive integer$"):
        expect(False, "model.width", -3, "a positive integer")


def test_was_interrupted_follows_the_context_chain_to_a_keyboard_interrupt():
    assert was_interrupted(KeyboardInterrupt()) and not was_interrupted(RuntimeError()) and not was_interrupted(None)
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            try:
                raise OSError("unlink")
            except OSError:
                raise RuntimeError("cleanup") from None
    except RuntimeError as e:
        assert was_interrupted(e)
