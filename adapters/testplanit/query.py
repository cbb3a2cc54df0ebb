"""Prisma query arguments the adapter sends (kept together so the request shapes are easy to review)."""

from __future__ import annotations

from typing import Any

from adapters.testplanit.convert import MARKER_PREFIX

#: one findMany page of cases carries its steps, tags and issue links: requests scale with pages, not cases
CASE_INCLUDE: dict[str, Any] = {
    "steps": {"where": {"isDeleted": False}, "orderBy": {"order": "asc"}},
    "tags": {"select": {"id": True, "name": True}},
    "issues": {"select": {"id": True, "name": True, "isDeleted": True}},
    "caseFieldValues": {"select": {"id": True, "fieldId": True, "value": True}, "orderBy": {"id": "asc"}},
}

PLAN_INCLUDE: dict[str, Any] = {
    "tags": {"select": {"id": True, "name": True}},
    "testCases": {"select": {"id": True, "repositoryCaseId": True}, "orderBy": {"order": "asc"}},
}

RESULT_INCLUDE: dict[str, Any] = {
    "testRunCase": {"select": {"repositoryCaseId": True}},
    "issues": {"select": {"name": True}},
}


def case_scope(project_id: int, repository_id: int) -> dict[str, Any]:
    """Live cases of the project's active repository (soft-deleted and archived ones are out of scope)."""
    return {"projectId": project_id, "repositoryId": repository_id, "isDeleted": False, "isArchived": False}


def has_marker(marker: str) -> dict[str, Any]:
    return {"tags": {"some": {"name": MARKER_PREFIX + marker}}}


def connect(row_id: Any) -> dict[str, Any]:
    return {"connect": {"id": row_id}}
