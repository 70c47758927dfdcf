"""Short stable hashes of JSON-able data (cache file names, config and sweep identities)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

__all__ = ["content_key"]


def content_key(d: Mapping) -> str:
    """A short stable hash of a JSON-able mapping: the first 12 hex digits of SHA-256 of its sorted JSON."""
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:12]
