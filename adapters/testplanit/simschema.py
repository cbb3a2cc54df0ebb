"""The slice of TestPlanIt's Prisma schema the simulator serves (fields, defaults, relations, unique keys).

Written from the server's own OpenAPI description (ZenStack, 0.11.13) and the recorded transcript: field
names, nullability and defaults are the real server's; only the models the adapter uses are here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

#: default markers: the current time, the authenticated user's id, a fresh id
NOW = "@now"
AUTH = "@auth"


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # int | float | str | bool | json | date | enum
    nullable: bool
    default: Any = None
    has_default: bool = False


@dataclass(frozen=True)
class Relation:
    name: str
    target: str
    kind: str  # one | many | m2m
    #: one: the local foreign key; many: the foreign key on the target; m2m: the join table name
    key: str
    nullable: bool = False


@dataclass
class ModelDef:
    name: str  # lower-camel model name used in URLs
    prisma: str  # Prisma model name used in error messages
    fields: dict[str, Field]
    relations: dict[str, Relation] = field(default_factory=dict)
    #: unique keys (Postgres semantics: a key with a NULL in it never collides)
    uniques: list[tuple[str, ...]] = field(default_factory=list)
    #: int: autoincrement; cuid: generated string; composite: no ``id`` column (the first unique key is the id;
    #: the simulator numbers rows internally, never shows that number, and orders by it by default)
    id_kind: str = "int"


def _fields(spec: str) -> dict[str, Field]:
    """``name:kind[?][=default]`` separated by spaces; ``?`` = nullable; ``=`` gives the default."""
    out: dict[str, Field] = {}
    for item in spec.split():
        name, _, rest = item.partition(":")
        kind, has_default, default_text = rest.partition("=")
        nullable = kind.endswith("?")
        kind = kind.rstrip("?")
        default: Any = None
        if has_default:
            default = {"true": True, "false": False, "null": None}.get(default_text, default_text)
            if kind == "int" and isinstance(default, str) and default.lstrip("-").isdigit():
                default = int(default)
        out[name] = Field(name, kind, nullable, default, bool(has_default) or nullable)
    return out


def one(name: str, target: str, key: str, nullable: bool = False) -> Relation:
    return Relation(name, target, "one", key, nullable)


def many(name: str, target: str, key: str) -> Relation:
    return Relation(name, target, "many", key)


def m2m(name: str, target: str, table: str) -> Relation:
    return Relation(name, target, "m2m", table)


def _model(
    name: str, prisma: str, spec: str, rels: list[Relation], uniques: Sequence[tuple[str, ...]] = (), **kw: Any
) -> ModelDef:
    return ModelDef(name, prisma, _fields(spec), {r.name: r for r in rels}, list(uniques), **kw)


MODELS: dict[str, ModelDef] = {
    m.name: m
    for m in [
        _model(
            "user",
            "User",
            "id:str name:str email:str isActive:bool=true isApi:bool=true isDeleted:bool=false",
            [],
            [("email",)],
            id_kind="cuid",
        ),
        _model(
            "apiToken",
            "ApiToken",
            "id:str name:str token:str tokenPrefix:str userId:str expiresAt:date? lastUsedAt:date? "
            "lastUsedIp:str? createdAt:date=@now isActive:bool=true",
            [one("user", "user", "userId")],
            [("token",)],
            id_kind="cuid",
        ),
        _model(
            "projects",
            "Projects",
            "id:int name:str iconUrl:str? note:str? docs:str? isCompleted:bool=false isDeleted:bool=false "
            "completedAt:date? createdAt:date=@now createdBy:str=@auth defaultAccessType:enum=GLOBAL_ROLE "
            "defaultRoleId:int?",
            [
                many("repositories", "repositories", "projectId"),
                many("repositoryCases", "repositoryCases", "projectId"),
                many("testRuns", "testRuns", "projectId"),
                many("milestones", "milestones", "projectId"),
                many("assignedTemplates", "templateProjectAssignment", "projectId"),
                many("assignedWorkflows", "projectWorkflowAssignment", "projectId"),
            ],
            [("name",)],
        ),
        _model(
            "repositories",
            "Repositories",
            "id:int projectId:int isActive:bool=true isArchived:bool=false isDeleted:bool=false",
            [one("project", "projects", "projectId"), many("cases", "repositoryCases", "repositoryId")],
        ),
        _model(
            "templates",
            "Templates",
            "id:int templateName:str isEnabled:bool isDeleted:bool=false isDefault:bool",
            [
                many("repositoryCases", "repositoryCases", "templateId"),
                many("caseFields", "templateCaseAssignment", "templateId"),
                many("resultFields", "templateResultAssignment", "templateId"),
                many("projects", "templateProjectAssignment", "templateId"),
            ],
            [("templateName",)],
        ),
        _model(
            "caseFieldTypes",
            "CaseFieldTypes",
            "id:int type:str options:json?",
            [many("caseFields", "caseFields", "typeId"), many("resultFields", "resultFields", "typeId")],
        ),
        *[
            _model(
                model,
                prisma,
                "id:int displayName:str systemName:str hint:str? typeId:int isEnabled:bool=true isDeleted:bool=false "
                "isRequired:bool=false isRestricted:bool=false defaultValue:str? isChecked:bool? minValue:float? "
                "maxValue:float? initialHeight:int?",
                [
                    one("type", "caseFieldTypes", "typeId"),
                    many("fieldOptions", assignment, key),
                    many("templates", template_assignment, key),
                    many(values, values, "fieldId"),
                ],
                [("systemName",)],
            )
            for model, prisma, assignment, template_assignment, key, values in (
                (
                    "caseFields",
                    "CaseFields",
                    "caseFieldAssignment",
                    "templateCaseAssignment",
                    "caseFieldId",
                    "caseFieldValues",
                ),
                (
                    "resultFields",
                    "ResultFields",
                    "resultFieldAssignment",
                    "templateResultAssignment",
                    "resultFieldId",
                    "resultFieldValues",
                ),
            )
        ],
        _model(
            "fieldOptions",
            "FieldOptions",
            "id:int name:str iconId:int? isEnabled:bool=true isDeleted:bool=false iconColorId:int? "
            "isDefault:bool=false order:int=0",
            [
                many("caseFields", "caseFieldAssignment", "fieldOptionId"),
                many("resultFields", "resultFieldAssignment", "fieldOptionId"),
            ],
        ),
        # join models with a composite id (no ``id`` column): a row is its key
        _model(
            "caseFieldAssignment",
            "CaseFieldAssignment",
            "fieldOptionId:int caseFieldId:int",
            [one("fieldOption", "fieldOptions", "fieldOptionId"), one("caseField", "caseFields", "caseFieldId")],
            [("fieldOptionId", "caseFieldId")],
            id_kind="composite",
        ),
        _model(
            "resultFieldAssignment",
            "ResultFieldAssignment",
            "fieldOptionId:int resultFieldId:int order:int=0",
            [one("fieldOption", "fieldOptions", "fieldOptionId"), one("resultField", "resultFields", "resultFieldId")],
            [("fieldOptionId", "resultFieldId")],
            id_kind="composite",
        ),
        _model(
            "templateCaseAssignment",
            "TemplateCaseAssignment",
            "caseFieldId:int templateId:int order:int=0",
            [one("caseField", "caseFields", "caseFieldId"), one("template", "templates", "templateId")],
            [("caseFieldId", "templateId")],
            id_kind="composite",
        ),
        _model(
            "templateResultAssignment",
            "TemplateResultAssignment",
            "resultFieldId:int templateId:int order:int=0",
            [one("resultField", "resultFields", "resultFieldId"), one("template", "templates", "templateId")],
            [("resultFieldId", "templateId")],
            id_kind="composite",
        ),
        _model(
            "templateProjectAssignment",
            "TemplateProjectAssignment",
            "templateId:int projectId:int",
            [one("template", "templates", "templateId"), one("project", "projects", "projectId")],
            [("templateId", "projectId")],
            id_kind="composite",
        ),
        _model(
            "projectWorkflowAssignment",
            "ProjectWorkflowAssignment",
            "workflowId:int projectId:int",
            [one("workflow", "workflows", "workflowId"), one("project", "projects", "projectId")],
            [("workflowId", "projectId")],
            id_kind="composite",
        ),
        # no unique (testCaseId, fieldId): the real server stores two values for one field if asked to
        _model(
            "caseFieldValues",
            "CaseFieldValues",
            "id:int testCaseId:int fieldId:int value:json?",
            [one("testCase", "repositoryCases", "testCaseId"), one("field", "caseFields", "fieldId")],
        ),
        _model(
            "resultFieldValues",
            "ResultFieldValues",
            "id:int testCaseId:int? fieldId:int value:json? sessionResultsId:int? testRunResultsId:int?",
            [
                one("testCase", "repositoryCases", "testCaseId", nullable=True),
                one("field", "resultFields", "fieldId"),
                one("testRunResults", "testRunResults", "testRunResultsId", nullable=True),
            ],
        ),
        _model(
            "workflows",
            "Workflows",
            "id:int order:int=0 name:str iconId:int=1 colorId:int=1 isEnabled:bool=true isDeleted:bool=false "
            "isDefault:bool=false workflowType:enum scope:enum",
            [
                many("repositoryCases", "repositoryCases", "stateId"),
                many("testRuns", "testRuns", "stateId"),
                many("projects", "projectWorkflowAssignment", "workflowId"),
            ],
        ),
        _model(
            "status",
            "Status",
            "id:int order:int=0 name:str systemName:str aliases:str? colorId:int=1 isDeleted:bool=false "
            "isEnabled:bool=true isSuccess:bool=false isFailure:bool=false isCompleted:bool=false",
            [many("testRunCases", "testRunCases", "statusId"), many("testRunResults", "testRunResults", "statusId")],
            [("systemName",)],
        ),
        _model(
            "repositoryFolders",
            "RepositoryFolders",
            "id:int projectId:int repositoryId:int parentId:int? name:str docs:json? createdAt:date=@now "
            "creatorId:str=@auth order:int=0 isDeleted:bool=false",
            [
                one("project", "projects", "projectId"),
                one("repository", "repositories", "repositoryId"),
                one("parent", "repositoryFolders", "parentId", nullable=True),
                many("children", "repositoryFolders", "parentId"),
                one("creator", "user", "creatorId"),
                many("cases", "repositoryCases", "folderId"),
            ],
            [("projectId", "repositoryId", "parentId", "name", "isDeleted")],
        ),
        _model(
            "repositoryCases",
            "RepositoryCases",
            "id:int projectId:int repositoryId:int folderId:int templateId:int name:str className:str? "
            "source:enum=MANUAL stateId:int estimate:int? forecastManual:int? forecastAutomated:float? order:int=0 "
            "createdAt:date=@now creatorId:str=@auth automated:bool=false isArchived:bool=false isDeleted:bool=false "
            "currentVersion:int=1",
            [
                one("project", "projects", "projectId"),
                one("repository", "repositories", "repositoryId"),
                one("folder", "repositoryFolders", "folderId"),
                one("template", "templates", "templateId"),
                one("state", "workflows", "stateId"),
                one("creator", "user", "creatorId"),
                many("steps", "steps", "testCaseId"),
                many("repositoryCaseVersions", "repositoryCaseVersions", "repositoryCaseId"),
                many("caseFieldValues", "caseFieldValues", "testCaseId"),
                many("testRuns", "testRunCases", "repositoryCaseId"),
                m2m("tags", "tags", "_RepositoryCasesToTags"),
                m2m("issues", "issue", "_IssueToRepositoryCases"),
            ],
            [("projectId", "name", "className", "source")],
        ),
        # case history snapshots: written by the UI's own route (which refuses API tokens), never by a model
        # API create/update, so over the API they are only ever read
        _model(
            "repositoryCaseVersions",
            "RepositoryCaseVersions",
            "id:int repositoryCaseId:int staticProjectId:int staticProjectName:str projectId:int repositoryId:int "
            "folderId:int folderName:str templateId:int templateName:str name:str stateId:int stateName:str "
            "estimate:int? forecastManual:int? forecastAutomated:float? order:int=0 createdAt:date=@now "
            "creatorId:str creatorName:str automated:bool=false isArchived:bool=false isDeleted:bool=false "
            "version:int=1 steps:json? tags:json? issues:json? links:json? attachments:json?",
            [one("repositoryCase", "repositoryCases", "repositoryCaseId"), one("project", "projects", "projectId")],
        ),
        _model(
            "steps",
            "Steps",
            "id:int isDeleted:bool=false step:json? expectedResult:json? testCaseId:int order:int=0 "
            "sharedStepGroupId:int?",
            [one("testCase", "repositoryCases", "testCaseId")],
        ),
        _model(
            "tags",
            "Tags",
            "id:int name:str isDeleted:bool=false",
            [
                m2m("repositoryCases", "repositoryCases", "_RepositoryCasesToTags"),
                m2m("testRuns", "testRuns", "_TagsToTestRuns"),
            ],
            [("name",)],
        ),
        _model(
            "milestoneTypes",
            "MilestoneTypes",
            "id:int name:str iconId:int? isDefault:bool=false isDeleted:bool=false",
            [many("milestones", "milestones", "milestoneTypesId")],
        ),
        _model(
            "milestones",
            "Milestones",
            "id:int projectId:int rootId:int? parentId:int? milestoneTypesId:int name:str note:json? docs:json? "
            "isStarted:bool=false isCompleted:bool=false isDeleted:bool=false automaticCompletion:bool=false "
            "notifyDaysBefore:int=0 startedAt:date? completedAt:date? createdAt:date=@now createdBy:str",
            [
                one("project", "projects", "projectId"),
                one("milestoneType", "milestoneTypes", "milestoneTypesId"),
                one("creator", "user", "createdBy"),
                one("parent", "milestones", "parentId", nullable=True),
                many("testRuns", "testRuns", "milestoneId"),
            ],
        ),
        _model(
            "testRuns",
            "TestRuns",
            "id:int projectId:int name:str note:json? docs:json? configId:int? milestoneId:int? stateId:int "
            "forecastManual:int? forecastAutomated:float? elapsed:int? isCompleted:bool=false isDeleted:bool=false "
            "completedAt:date? createdAt:date=@now createdById:str=@auth testRunType:enum=REGULAR "
            "configurationGroupId:str?",
            [
                one("project", "projects", "projectId"),
                one("milestone", "milestones", "milestoneId", nullable=True),
                one("state", "workflows", "stateId"),
                one("createdBy", "user", "createdById"),
                many("testCases", "testRunCases", "testRunId"),
                many("results", "testRunResults", "testRunId"),
                m2m("tags", "tags", "_TagsToTestRuns"),
            ],
        ),
        _model(
            "testRunCases",
            "TestRunCases",
            "id:int testRunId:int repositoryCaseId:int order:int=0 statusId:int? assignedToId:str? "
            "isCompleted:bool=false notes:json? startedAt:date? completedAt:date? elapsed:int? createdAt:date=@now",
            [
                one("testRun", "testRuns", "testRunId"),
                one("repositoryCase", "repositoryCases", "repositoryCaseId"),
                one("status", "status", "statusId", nullable=True),
                one("assignedTo", "user", "assignedToId", nullable=True),
                many("results", "testRunResults", "testRunCaseId"),
            ],
            [("testRunId", "repositoryCaseId")],
        ),
        _model(
            "testRunResults",
            "TestRunResults",
            "id:int testRunId:int testRunCaseId:int testRunCaseVersion:int=1 statusId:int executedById:str=@auth "
            "executedAt:date=@now editedById:str? editedAt:date? elapsed:int? notes:json? evidence:json? "
            "attempt:int=1 isDeleted:bool=false",
            [
                one("testRun", "testRuns", "testRunId"),
                one("testRunCase", "testRunCases", "testRunCaseId"),
                one("status", "status", "statusId"),
                one("executedBy", "user", "executedById"),
                many("resultFieldValues", "resultFieldValues", "testRunResultsId"),
                m2m("issues", "issue", "_IssueToTestRunResults"),
            ],
        ),
        _model(
            "issue",
            "Issue",
            "id:int name:str title:str description:str? status:str? priority:str=medium externalId:str? "
            "externalKey:str? externalUrl:str? externalStatus:str? externalData:json? issueTypeId:str? "
            "issueTypeName:str? issueTypeIconUrl:str? lastSyncedAt:date? data:json? note:json? isDeleted:bool=false "
            "createdAt:date=@now createdById:str projectId:int? integrationId:int?",
            [
                one("createdBy", "user", "createdById"),
                one("project", "projects", "projectId", nullable=True),
                m2m("repositoryCases", "repositoryCases", "_IssueToRepositoryCases"),
                m2m("testRunResults", "testRunResults", "_IssueToTestRunResults"),
            ],
        ),
    ]
}

#: models served under /api/model (the user table exists but the adapter never reads it directly)
SERVED = frozenset(MODELS) - {"user"}
READ_OPS = frozenset({"findMany", "findFirst", "findUnique", "count", "aggregate", "groupBy"})
POST_OPS = frozenset({"create", "createMany", "upsert"})
PATCH_OPS = frozenset({"update", "updateMany"})
DELETE_OPS = frozenset({"delete", "deleteMany"})

#: operation -> the suffix of its arguments schema in the server's OpenAPI (``RepositoryCasesFindManyArgs``)
ARGS_SCHEMAS = {
    "findMany": "FindManyArgs",
    "findFirst": "FindFirstArgs",
    "findUnique": "FindUniqueArgs",
    "count": "CountArgs",
    "create": "CreateArgs",
    "createMany": "CreateManyArgs",
    "update": "UpdateArgs",
    "updateMany": "UpdateManyArgs",
    "upsert": "UpsertArgs",
    "delete": "DeleteUniqueArgs",
    "deleteMany": "DeleteManyArgs",
}
