"""Small utilities every layer may use: atomic file writes, file locks, hashes, device checks, the version.

Nothing here knows about models, data or studies; :mod:`muop.errors` is the only muop import.
"""

from .atomic import atomic_write
from .device import available_memory, check_device
from .hashing import content_key
from .locks import DirectoryInUse, FileLock, RunDirLock
from .version import muop_version

__all__ = [
    "DirectoryInUse",
    "FileLock",
    "RunDirLock",
    "atomic_write",
    "available_memory",
    "check_device",
    "content_key",
    "muop_version",
]
