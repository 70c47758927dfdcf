"""What the fuzz tests share: hypothesis settings, and the one check every config fuzzer makes."""

from collections.abc import Callable

from hypothesis import HealthCheck, settings

from muop.config import RunConfig
from muop.errors import ConfigError

#: Settings of the fuzz tests: enough examples to find a crash, no per-example deadline (imports, CI load).
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


def ok_or_config_error(make: Callable[[], RunConfig]) -> RunConfig | None:
    """``make()`` either gives a RunConfig that round-trips through a dict, or raises a one-line ConfigError
    (then None)."""
    try:
        cfg = make()
    except ConfigError as e:
        msg = str(e)
        assert msg and "\n" not in msg.strip()  # one line, names what is wrong
        return None
    assert isinstance(cfg, RunConfig)
    assert RunConfig.from_dict(cfg.to_dict()) == cfg  # a valid config round-trips
    return cfg
