"""Labels in the TestRail simulator (TestRail 9 and later): project labels and the labels of cases.

Simulator side only (imports nothing of the adapter). What it serves, after the behaviour notes:

- ``get_labels/{project_id}`` (paginated under ``labels``), ``get_label/{id}``, ``update_label/{id}``;
  each label ``{id, project_id, title, created_by, created_on}``, a title of at most 20 characters;
- cases carry ``labels``: ``[{id, title}]`` on every read;
- ``add_case``/``update_case`` take label titles in ``labels`` (a title not yet used in the project makes a
  new label) or label ids, in ``labels`` or in ``label_ids`` (public clients send either), and replace the
  case's labels with them.

A simulator built with ``labels=False`` is a server from before TestRail 9: the label methods answer 404
(unknown method), cases have no ``labels`` key and the fields are ignored on writes, as an old server
ignores fields it does not know.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MAX_TITLE = 20
LABEL_METHODS = frozenset({"get_labels", "get_label", "update_label"})


class LabelError(Exception):
    """A request the real server refuses: ``status`` and TestRail's words."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Labels:
    """The labels of every project of one simulated server."""

    def __init__(self, *, enabled: bool, clock: Callable[[], int], next_id: Callable[[], int]) -> None:
        self.enabled = enabled
        self.items: dict[int, dict[str, Any]] = {}
        self._clock = clock
        self._next_id = next_id

    # ----------------------------------------------------------------------------------------- API
    def require(self, method: str) -> None:
        if not self.enabled:
            raise LabelError(404, f"Unknown method '{method}'")

    def of_project(self, project_id: int) -> list[dict[str, Any]]:
        return [label for label in self.items.values() if label["project_id"] == project_id]

    def one(self, label_id: Any) -> dict[str, Any]:
        if label_id not in self.items:
            raise LabelError(400, "Field :label_id is not a valid label.")
        return self.items[label_id]

    def rename(self, label: dict[str, Any], body: dict[str, Any], cases: list[dict[str, Any]]) -> dict[str, Any]:
        title = _title(body.get("title"))
        others = [other for other in self.of_project(label["project_id"]) if other["id"] != label["id"]]
        if any(other["title"] == title for other in others):
            raise LabelError(400, f"Field :title: a label {title!r} already exists in this project.")
        label["title"] = title
        for case in cases:  # cases show the label's current title
            for ref in case.get("labels") or []:
                if ref["id"] == label["id"]:
                    ref["title"] = title
        return label

    # -------------------------------------------------------------------------------------- cases
    def new_case(self, case: dict[str, Any]) -> None:
        if self.enabled:
            case["labels"] = []

    def apply(self, case: dict[str, Any], project_id: int, body: dict[str, Any]) -> None:
        """Set the case's labels from an add_case/update_case body (nothing to do when it names none)."""
        if not self.enabled:
            return
        wanted: list[Any] | None = None
        for key in ("label_ids", "labels"):
            if key in body:
                value = body[key]
                if value is None:
                    value = []
                if not isinstance(value, list):
                    raise LabelError(400, f"Field :{key} is not a valid array.")
                wanted = (wanted or []) + value
        if wanted is None:
            return
        refs: list[dict[str, Any]] = []
        for item in wanted:
            label = self._find_or_make(project_id, item)
            if all(r["id"] != label["id"] for r in refs):
                refs.append({"id": label["id"], "title": label["title"]})
        case["labels"] = refs

    def _find_or_make(self, project_id: int, item: Any) -> dict[str, Any]:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise LabelError(400, "Field :labels must contain label ids or titles.")
        if isinstance(item, int):
            label = self.items.get(item)
            if label is None or label["project_id"] != project_id:
                raise LabelError(400, f"Field :labels: {item} is not a valid label.")
            return label
        title = _title(item, "labels")
        for label in self.of_project(project_id):
            if label["title"] == title:
                return label
        lid = self._next_id()
        label = {"id": lid, "project_id": project_id, "title": title, "created_by": 1, "created_on": self._clock()}
        self.items[lid] = label
        return label


def _title(value: Any, field: str = "title") -> str:
    if not isinstance(value, str) or not value.strip():
        raise LabelError(400, f"Field :{field}: a label title is required.")
    title = value.strip()
    if len(title) > MAX_TITLE:
        raise LabelError(400, f"Field :{field}: a label title has at most {MAX_TITLE} characters ({title!r}).")
    return title
