"""A project's folder tree: read once per run, created or restored level by level from the top.

There is no root folder (NOTES: a project made in the UI has none until someone adds one, and then usually
several top-level folders with ``parentId: null``). A path is the chain of names from a top-level folder. A
soft-deleted folder is brought back by un-deleting it, never by creating a second row beside it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from adapters.testplanit import convert
from adapters.testplanit.client import TestPlanItClient
from adapters.testplanit.query import connect
from bridge.errors import UniqueViolation
from bridge.model import Folder

SELECT = {"id": True, "name": True, "parentId": True, "isDeleted": True}
PAGE_SIZE = 2000


class FolderTree:
    """The tree, read once and then kept up to date by what this run creates or restores: the path map and
    the (parent, name) index are built once, not per created case (at 600 folders a rebuild cost 0.3 ms, and
    every create needs the path of its answer's folder)."""

    def __init__(self, client: TestPlanItClient, project_id: int, repository_id: int) -> None:
        self.client = client
        self.project_id = project_id
        self.repository_id = repository_id
        self._lock = threading.RLock()
        self._rows: dict[int, dict[str, Any]] | None = None
        self._paths: dict[int, tuple[str, ...]] | None = None
        self._named: dict[tuple[int | None, str], list[dict[str, Any]]] = {}
        #: path as asked -> the id ensure() answered: rows are only ever added or restored in a run, never
        #: deleted, so an answer holds all run long (most creates ask for a folder an earlier one made)
        self._ensured: dict[tuple[str, ...], int] = {}

    def _scope(self, **extra: Any) -> dict[str, Any]:
        return {"projectId": self.project_id, "repositoryId": self.repository_id, **extra}

    def rows(self) -> dict[int, dict[str, Any]]:
        """Every folder of the repository, soft-deleted ones too (one read: they may be restored)."""
        with self._lock:
            if self._rows is None:
                rows: dict[int, dict[str, Any]] = {}
                for page in self.client.pages(
                    "repositoryFolders", {"where": self._scope(), "select": SELECT}, page_size=PAGE_SIZE
                ):
                    rows.update({r["id"]: dict(r) for r in page})
                self._rows = rows
                for row in rows.values():
                    self._named.setdefault((row.get("parentId"), row["name"]), []).append(row)
            return self._rows

    def paths(self) -> dict[int, tuple[str, ...]]:
        """Folder id -> path. The same map all run long (treat it as read-only): created folders are added."""
        with self._lock:
            if self._paths is None:
                self._paths = convert.folder_paths(self.rows().values())
            return self._paths

    def folders(self) -> Iterator[Folder]:
        yield from convert.folders_from_native(self.rows().values())

    def ensure(self, path: Sequence[str]) -> int:
        """The id of the live folder at ``path``, restoring or creating the missing levels from the top."""
        asked = tuple(path)
        with self._lock:
            known = self._ensured.get(asked)
            if known is not None:
                return known
            self.rows()
            parent: int | None = None
            for name in Folder(path=asked).path:
                here = self._named.get((parent, name), [])
                child = next((r for r in here if not r.get("isDeleted")), None)
                if child is None:
                    deleted = max(here, key=lambda r: r["id"], default=None)
                    child = self._restore(deleted) if deleted is not None else self._create(parent, name)
                    self._add(child)
                parent = child["id"]
            if parent is None:
                raise ValueError("a folder path needs at least one name")
            self._ensured[asked] = parent
            return parent

    def _add(self, row: dict[str, Any]) -> None:
        """Take a created or restored row into the rows, the index and the path map."""
        rows = self.rows()
        old = rows.get(row["id"])
        if old is not None:
            self._named[(old.get("parentId"), old["name"])].remove(old)
        rows[row["id"]] = row
        self._named.setdefault((row.get("parentId"), row["name"]), []).append(row)
        if self._paths is not None:
            parent = row.get("parentId")
            # only this folder's own entry changes: a created one has no children, a restored one keeps its
            # name and parent (so its soft-deleted children keep their paths)
            self._paths[row["id"]] = (self._paths.get(parent, ()) if parent is not None else ()) + (row["name"],)

    def _restore(self, row: dict[str, Any]) -> dict[str, Any]:
        data = self.client.update(
            "repositoryFolders", {"where": {"id": row["id"]}, "data": {"isDeleted": False}, "select": SELECT}
        )
        return dict(data)

    def _create(self, parent: int | None, name: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": name,
            "project": connect(self.project_id),
            "repository": connect(self.repository_id),
        }
        if parent is not None:
            data["parent"] = connect(parent)
        else:
            # the unique key (project, repository, parent, name, isDeleted) never collides on a NULL parent, so
            # the server would take a second top-level folder of the same name: look first (top-level folders
            # are few; someone may have made this one since the tree was read)
            found = self._find(None, name)
            if found is not None:
                return found
        try:
            return dict(self.client.create("repositoryFolders", {"data": data, "select": SELECT}))
        except UniqueViolation:
            # someone else created it since we read the tree: use theirs
            found = self._find(parent, name)
            if found is None:
                raise
            return found

    def _find(self, parent: int | None, name: str) -> dict[str, Any] | None:
        found = self.client.read(
            "repositoryFolders",
            "findFirst",
            {"where": self._scope(parentId=parent, name=name, isDeleted=False), "select": SELECT},
        )
        return dict(found) if found else None
