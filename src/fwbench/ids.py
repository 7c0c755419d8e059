"""Short content hashes: the one way every id of the project is made (cell, accuracy cell, grid, system).

An id is the first hex digits of sha256 over the canonical JSON of what it identifies (keys
sorted, no spaces), so equal content gives the equal id on every host and in every version of
this package, and layout or key order never changes it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

#: Hex digits of a cell or grid id.
ID_LENGTH = 12
#: Hex digits of a system id (shorter: it is a directory level in every raw-run path).
SYSTEM_ID_LENGTH = 10


def canonical_json(data: Any) -> str:
    """The JSON text an id is computed from."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def short_hash(data: Any, length: int = ID_LENGTH) -> str:
    """First `length` hex digits of sha256 over canonical_json(data)."""
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()[:length]
