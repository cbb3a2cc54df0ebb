"""Listed records that match their link's stored hashes, held small, so a sync of many unchanged linked cases
keeps per record little more than its ids (not every record it read).

A record read on one side whose view hashes equal what its link stored is kept pickled (a few hundred bytes
instead of the model); when the other side of the pair is unchanged too, the pickle is dropped and only the
ids remain. A pair with one side changed gets its pickled side back intact, so a merge sees exactly what was
read, with no second request.
"""

from __future__ import annotations

import json
import pickle
from datetime import datetime
from typing import Any

from bridge.model import Case
from bridge.sync.merge import hashes
from mappings.store import hashes_digest


class Unchanged:
    """Stands for a listed case whose view hashes equal its link's: its ids and, until dropped, the case."""

    __slots__ = ("id", "marker", "updated_at", "_data")

    def __init__(self, case: Case, *, keep: bool = True) -> None:
        self.id = case.id
        self.marker = case.marker
        self.updated_at: datetime | None = case.updated_at
        self._data: bytes | None = pickle.dumps(case, protocol=pickle.HIGHEST_PROTOCOL) if keep else None

    def case(self) -> Case | None:
        """The case as read; None once dropped (the pair is then looked up directly, like a case not listed:
        only a side re-read after the other was found unchanged gets there)."""
        if self._data is None:
            return None
        case: Case = pickle.loads(self._data)
        return case

    def drop(self) -> None:
        self._data = None


def same_hashes(view: dict[str, Any], stored_digest: bytes) -> bool:
    """Whether the hashes of ``view`` are those the link stored (as JSON, the way the store wrote them)."""
    return hashes_digest(json.dumps(hashes(view))) == stored_digest


def full(record: Any) -> Any:
    """The record itself (a pickled unchanged case comes back whole, a dropped one as None); None stays None."""
    return record.case() if isinstance(record, Unchanged) else record
