"""How a link's right-side hashes are stored (schema version 8): as what differs from its left side's.

Both sides' hashes are hashes of the same normalized values, so they are almost always equal; stored in full
they were a third of a link's row (~0.5 KB of ~1.6 KB), which a migration writes twice (the write-ahead log,
then the database file). ``tpb_link.right_hashes`` therefore holds one of:

- a JSON array ``[changes]`` (what the store writes): the left side's hashes with ``changes`` applied. A key
  with a hash takes that hash (one the left lacks comes after the left's keys), a key with ``null`` is absent
  on the right. ``[{}]``: the same as the left.
- a JSON object: the right side's hashes in full (rows written before version 8, which its migration rewrites;
  and hashes whose key order the changes cannot keep, since the order is part of what a no-change sync
  compares: see :func:`mappings.store.hashes_digest`).

Nothing outside the store sees the stored form: :func:`track` makes every ``Link`` the ORM loads carry its
right side's hashes in full, and write them as changes; the store's Core paths (bulk inserts, link summaries)
call :func:`pack_right` and :func:`unpack_right` themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Mapper
from sqlalchemy.orm.attributes import get_history, set_committed_value

#: the stored right side of a pair whose two sides' hashes are equal (as the store's compact JSON writes it)
SAME_AS_LEFT = "[{}]"

StoredRight = dict[str, str] | list[dict[str, str | None]]


def pack_right(left: Mapping[str, str], right: Mapping[str, str]) -> StoredRight:
    """The stored form of ``right`` next to ``left`` (:func:`unpack_right` gives ``right`` back, keys in order)."""
    if right == left and list(right) == list(left):
        return [{}]
    changes: dict[str, str | None] = {k: None for k in left if k not in right}
    changes.update((k, v) for k, v in right.items() if left.get(k) != v)
    if list(unpack_right(left, [changes])) != list(right):
        return dict(right)  # an order the changes cannot express: kept in full
    return [changes]


def unpack_right(left: Mapping[str, str], stored: Any) -> dict[str, str]:
    """The right side's hashes from their stored form (either form; a new dict, never ``left`` itself)."""
    if isinstance(stored, dict):
        return stored
    changes: Mapping[str, str | None] = stored[0] if stored else {}
    if not changes:
        return dict(left)
    right = {k: h for k, v in left.items() if (h := changes.get(k, v)) is not None}
    right.update((k, v) for k, v in changes.items() if v is not None and k not in left)
    return right


def track(model: type[Any]) -> None:
    """Make the ORM store ``model.right_hashes`` packed and hand it out unpacked (see the module docstring).

    Loading unpacks without marking the attribute changed; a flush that changes either side's hashes packs the
    right's for the statement and unpacks them again afterwards, so the object keeps its full hashes."""

    def unpack(target: Any) -> None:
        set_committed_value(target, "right_hashes", unpack_right(target.left_hashes or {}, target.right_hashes))

    def on_load(target: Any, _context: Any) -> None:
        unpack(target)

    def on_refresh(target: Any, _context: Any, attrs: Any) -> None:
        if attrs is None or "right_hashes" in attrs:
            unpack(target)

    def before_insert(_mapper: Mapper[Any], _conn: Any, target: Any) -> None:
        target.right_hashes = pack_right(target.left_hashes or {}, target.right_hashes or {})

    def before_update(_mapper: Mapper[Any], _conn: Any, target: Any) -> None:
        # unchanged hashes keep their stored form, which still holds next to the unchanged left
        if get_history(target, "left_hashes").has_changes() or get_history(target, "right_hashes").has_changes():
            before_insert(_mapper, _conn, target)

    def after_write(_mapper: Mapper[Any], _conn: Any, target: Any) -> None:
        unpack(target)

    # (a query that deferred either column has it loaded here, by a query of its own: allowed in the handler)
    event.listen(model, "load", on_load, restore_load_context=True)
    event.listen(model, "refresh", on_refresh, restore_load_context=True)
    event.listen(model, "before_insert", before_insert)
    event.listen(model, "before_update", before_update)
    event.listen(model, "after_insert", after_write)
    event.listen(model, "after_update", after_write)
