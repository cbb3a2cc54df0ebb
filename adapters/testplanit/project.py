"""What a TestPlanIt project offers its cases and runs: its templates and workflow states.

The UI offers a project only the templates and workflows assigned to it (``templateProjectAssignment``,
``projectWorkflowAssignment``) and preselects the global default template only when it is assigned; the
bridge chooses the same way. Read once per connect.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from adapters.testplanit.client import TestPlanItClient
from adapters.testplanit.fields import Template, template_from_native
from bridge.errors import ConfigError, NotFound

log = logging.getLogger("adapters.testplanit")

_FIELD_INCLUDE: dict[str, Any] = {
    "include": {"type": True, "fieldOptions": {"include": {"fieldOption": True}}},
}
TEMPLATE_INCLUDE: dict[str, Any] = {
    "caseFields": {"include": {"caseField": _FIELD_INCLUDE}, "orderBy": {"order": "asc"}},
}


@dataclass(frozen=True)
class Templates:
    #: the template new cases get
    chosen_id: int
    #: the chosen template when it is assigned to the project, else None (its fields are not the project's)
    chosen: Template | None
    #: every template assigned to the project, by id (a case on any of them is read with its own fields)
    assigned: dict[int, Template]


def choose_template(client: TestPlanItClient, project_id: int, wanted: str | None, *, system: str) -> Templates:
    """The project's template: ``wanted`` (name or id) among the assigned ones, else the global default when
    assigned, else the lowest-id assigned one. A project with none assigned still needs a template id for its
    cases (every case has one): the global default's, with no fields the bridge may fill."""
    rows = client.read(
        "templates",
        "findMany",
        {
            "where": {"isDeleted": False, "isEnabled": True, "projects": {"some": {"projectId": project_id}}},
            "include": TEMPLATE_INCLUDE,
            "orderBy": {"id": "asc"},
        },
    )
    assigned = {t.id: t for t in (template_from_native(r) for r in rows or [])}
    if wanted is not None:
        found = next((t for t in assigned.values() if wanted in (str(t.id), t.name)), None)
        if found is None:
            names = ", ".join(repr(t.name) for t in assigned.values()) or "none"
            raise ConfigError(
                f"systems.{system}.template = {wanted!r} is not a template assigned to project {project_id} "
                f"(assigned: {names}); assign it in TestPlanIt's project settings or choose another"
            )
        return Templates(found.id, found, assigned)
    if assigned:
        found = next((t for t in assigned.values() if t.is_default), None) or next(iter(assigned.values()))
        return Templates(found.id, found, assigned)
    default = client.read(
        "templates", "findFirst", {"where": {"isDeleted": False, "isDefault": True}, "select": {"id": True}}
    )
    if not default:
        raise NotFound("no case template assigned to the project and no default template", system=system)
    log.warning(
        "TestPlanIt project %s has no template assigned: cases get the default template and no description, "
        "preconditions, priority, type or custom field values (assign a template to the project to hold them)",
        project_id,
        extra={"system": system},
    )
    return Templates(int(default["id"]), None, assigned)


@dataclass(frozen=True)
class States:
    case_default: int
    run_default: int
    #: the state a completed run gets (a DONE-type RUNS workflow), as the UI's "complete run" dialog sets it
    run_done: int | None
    #: workflow id -> type (NOT_STARTED, IN_PROGRESS, DONE) of the run states
    run_types: dict[int, str]


def project_states(client: TestPlanItClient, project_id: int, *, system: str) -> States:
    """Case and run states among those assigned to the project (all states of a scope when the project has
    none of it assigned: servers set up before assignments existed)."""
    select = {"id": True, "scope": True, "isDefault": True, "workflowType": True}
    where: dict[str, Any] = {"scope": {"in": ["CASES", "RUNS"]}, "isDeleted": False, "isEnabled": True}
    mine = (
        client.read(
            "workflows",
            "findMany",
            {
                "where": {**where, "projects": {"some": {"projectId": project_id}}},
                "select": select,
                "orderBy": {"order": "asc"},
            },
        )
        or []
    )
    flows: dict[str, list[dict[str, Any]]] = {
        scope: [f for f in mine if f["scope"] == scope] for scope in ("CASES", "RUNS")
    }
    if not flows["CASES"] or not flows["RUNS"]:
        every = client.read("workflows", "findMany", {"where": where, "select": select, "orderBy": {"order": "asc"}})
        for scope in ("CASES", "RUNS"):
            if not flows[scope]:
                flows[scope] = [f for f in every or [] if f["scope"] == scope]
    for scope in ("CASES", "RUNS"):
        if not flows[scope]:
            raise NotFound(f"no {scope.lower()} workflow states", system=system)

    def default(scope: str) -> int:
        return int(next((f for f in flows[scope] if f["isDefault"]), flows[scope][0])["id"])

    done = next((f for f in flows["RUNS"] if f.get("workflowType") == "DONE"), None)
    return States(
        case_default=default("CASES"),
        run_default=default("RUNS"),
        run_done=int(done["id"]) if done else None,
        run_types={int(f["id"]): str(f.get("workflowType")) for f in flows["RUNS"]},
    )
