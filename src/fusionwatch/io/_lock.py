"""The one lock of the readers' process-wide switches (the warning filters, the 'pydicom' logger's level, Pillow's
``ImageFile.LOAD_TRUNCATED_IMAGES``).

A block that sets one of them and puts it back afterwards is only correct when no other such block runs at the same
time: two overlapping blocks (two threads reading films: the web API, a threaded batch) each restore the state they
found, so the later one can put back the earlier one's setting for good, or the earlier one undo the setting under
the later one while it still reads. Every such block in :mod:`fusionwatch.io` holds :data:`READER_LOCK`; it is
re-entrant, so a block may run inside another in the same thread.
"""

from __future__ import annotations

import threading

__all__ = ["READER_LOCK"]

READER_LOCK = threading.RLock()
"""Held while a reader has changed a process-wide switch (see the module notes)."""
