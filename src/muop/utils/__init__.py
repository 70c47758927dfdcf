"""Small utilities every layer may use: atomic file writes, file locks, hashes, device checks, the version.

Nothing here knows about models, data or studies; :mod:`muop.errors` is the only muop import.
"""

from .atomic import atomic_write
from .device import check_device
from .hashing import content_key
from .locks import FileLock
from .version import muop_version

__all__ = ["FileLock", "atomic_write", "check_device", "content_key", "muop_version"]
