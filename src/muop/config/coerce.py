"""Reading a config section from plain data: each value checked against the field's declared type.

YAML scalars are converted where unambiguous: an int for a float field, a numeric string
(``1e-3``) for a float, also in a list (``lr: [1e-4, 1e-1]``), a scalar for a list (``modes: 8`` -> ``[8]``).
"""

from __future__ import annotations

import math
import re
from typing import Any, get_type_hints

from ..errors import ConfigError, expect

__all__ = ["coerce", "is_number"]


#: A number in exponent notation without a dot (``1e-3``), which PyYAML (YAML 1.1) reads as a string.
_EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def is_number(v: Any) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def coerce(typ: type, section: str, values: dict) -> Any:
    """Build a section, checking each value against the field's declared type.

    YAML scalars are converted where unambiguous: an int for a float field, a numeric string
    (``1e-3``) for a float, also in a list (``betas: [0.9, 1e-3]``), a scalar for a list (``modes: 8`` -> ``[8]``).
    """
    hints = get_type_hints(typ)
    out = {}
    for k, v in values.items():
        h = str(hints[k])
        where = f"{section}.{k}"
        if v is None:
            expect("None" in h, where, v, "a value (this field cannot be null)")
        elif "float" in h:
            if isinstance(v, str):
                try:
                    v = float(v)
                except ValueError:
                    raise ConfigError(f"{where}={v!r}: expected a number") from None
            expect(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
                where,
                v,
                "a finite number",
            )
            v = float(v)
        elif "int" in h and "list" not in h:
            expect(isinstance(v, int) and not isinstance(v, bool), where, v, "an integer")
        elif "bool" in h:
            expect(isinstance(v, bool), where, v, "true or false")
        elif "str" in h:
            expect(isinstance(v, str), where, v, "a string")
        elif "list" in h:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                v = [v]
            expect(isinstance(v, list), where, v, "a list")
            v = [float(x) if isinstance(x, str) and _EXPONENT.fullmatch(x.strip()) else x for x in v]
        elif "dict" in h:
            expect(isinstance(v, dict), where, v, "a mapping")
        out[k] = v
    return typ(**out)
