"""The adapter contract: what every system adapter provides to the sync engine, migration and CI step.

An adapter turns one system's native records into the normalized model (:mod:`bridge.model`) and back. The
engine knows nothing about any system; it only calls what is declared here (the vdirsyncer shape: list /
get / create / update / delete over pluggable storages).

Rules every adapter follows:

- **Reads are paged and bulk.** ``iter_*`` yield normalized records page by page; a full read never fetches
  records one by one (use the API's includes/expansions).
- **Identity is native.** ``record.id`` is the native id on this system, as a string.
- **Markers.** ``create_*(record, marker=...)`` stores the bridge's marker in a field the bridge owns on this
  system, and every read fills ``record.marker`` back from it, so a create interrupted by a crash can be
  found again (``find_*_by_marker``) instead of being repeated.
- **Never truncate.** ``check_case``/``check_plan`` list what this system cannot hold (over-long text, too many
  labels, unknown value); ``create_*``/``update_*`` raise :class:`~bridge.errors.CannotRepresent` rather than
  write a shortened value.
- **Read back.** ``create_*``/``update_*`` return the record as the system now holds it, normalized, so the
  engine can store an exact base snapshot (echo suppression).
- **Errors** are the typed exceptions of :mod:`bridge.errors`, raised by the shared HTTP layer or by the
  adapter's own error mapping; a lookup of something that does not exist returns None, not an exception.
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

from bridge.errors import Unrepresentable
from bridge.http import HttpSettings
from bridge.model import Case, Entity, Folder, Plan, Result
from mappings.valuemaps import ValueMaps


class SystemSettings(BaseModel):
    """Options every system shares (``[systems.<name>]`` in the config). Kinds extend it with credentials."""

    model_config = ConfigDict(extra="forbid")
    _name: str | None = PrivateAttr(default=None)

    kind: str
    url: str = Field(description="Base URL of the system's API")
    timeout: float = Field(30.0, gt=0, description="Seconds before a request times out")
    verify_tls: bool = Field(True, description="Verify TLS certificates (turning this off warns)")
    requests_per_minute: float | None = Field(None, gt=0, description="Client-side pacing")
    max_retries: int = Field(5, ge=0, le=20)
    max_answer_mb: float = Field(64, gt=0, description="Answers larger than this are refused (megabytes)")
    record_cassette: str | None = Field(None, description="Record exchanges to this vcrpy cassette")
    value_maps: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="Overrides of this system's default value maps"
    )

    def named(self, name: str) -> SystemSettings:
        """These settings as the configured system ``name`` (its requests are counted under that name)."""
        copy = self.model_copy()
        copy._name = name
        return copy

    def http_settings(self, **overrides: Any) -> HttpSettings:
        values: dict[str, Any] = {
            "label": self._name,
            "base_url": self.url.rstrip("/"),
            "timeout": self.timeout,
            "verify_tls": self.verify_tls,
            "requests_per_minute": self.requests_per_minute,
            "max_retries": self.max_retries,
            "max_answer_bytes": int(self.max_answer_mb * 1024 * 1024),
            "record_cassette": self.record_cassette,
        }
        values.update(overrides)
        return HttpSettings(**values)

    def secrets(self) -> list[str]:
        """Every secret value in these settings (registered for redaction when the config loads)."""
        return [v.get_secret_value() for v in self.__dict__.values() if isinstance(v, SecretStr)]


@dataclass(frozen=True)
class FieldLimits:
    """What a system can hold; ``None`` means no limit. Used by ``check_case`` and by the docs."""

    title: int | None = None
    description: int | None = None
    preconditions: int | None = None
    step_text: int | None = None
    steps: int | None = None
    tags: int | None = None
    tag_length: int | None = None


@dataclass(frozen=True, slots=True)
class PlanUnchanged:
    """A plan unchanged since the time asked (``iter_plans_since``): what the plan list gives for free, no
    cases. The engine keeps the pair's stored state, or reads the plan when the other side changed."""

    id: str
    name: str
    marker: str | None
    updated_at: datetime | None


@dataclass(frozen=True, eq=False)
class CheckedCase:
    """:meth:`Adapter.inspect_case`'s verdict on one case object: its problems, and what the adapter worked out
    on the way (``work``, the adapter's own) so that :meth:`Adapter.create_checked` need not work it out, or
    check, again."""

    case: Case
    problems: list[Unrepresentable]
    work: Any = None


@dataclass(frozen=True)
class Capabilities:
    entities: frozenset[Entity]
    #: ``iter_cases(since=...)`` uses a server-side filter (TestRail ``updated_after``)
    incremental_cases: bool = False
    #: ``iter_plans_since`` tells the plans unchanged since a time without reading their cases (CodeArts: the
    #: plan journals)
    incremental_plans: bool = False
    #: ``updated_at`` on records can be trusted for ``newest-wins`` (within a tolerance)
    trustworthy_timestamps: bool = False
    #: results can be read back (some targets are write-only for results)
    read_results: bool = True
    #: plans hold several runs with configurations (TestRail plans); else one implicit run
    plan_runs: bool = False
    limits: FieldLimits = field(default_factory=FieldLimits)
    #: the normalized Case fields this system can hold (None: all). The engine only merges the fields both
    #: sides of a job hold, so a field one side lacks is neither lost nor echoed back and forth.
    case_fields: frozenset[str] | None = None
    #: the normalized Plan fields this system can hold (None: all)
    plan_fields: frozenset[str] | None = None


class Adapter(abc.ABC):
    """One configured system. Construct with :func:`adapters.registry.create_adapter`."""

    kind: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def __init__(self, name: str, settings: SystemSettings, value_maps: ValueMaps) -> None:
        self.name = name
        self.settings = settings
        self.value_maps = value_maps
        #: set before ``connect`` for a dry run: connecting then writes nothing either (no set-up records)
        self.read_only = False

    # ---- lifecycle -------------------------------------------------------------------------------------
    @abc.abstractmethod
    def connect(self) -> None:
        """Check the credentials and resolve the project scope; raise AuthError/NotFound with a clear hint."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> Adapter:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> str:
        """One line naming the system and scope, for summaries (never credentials)."""
        return f"{self.name} ({self.kind} at {self.settings.url})"

    # ---- folders ---------------------------------------------------------------------------------------
    def iter_folders(self) -> Iterator[Folder]:
        raise NotImplementedError(f"{self.kind} has no folders")

    def ensure_folder(self, path: Sequence[str]) -> str:
        """Create the missing folders along ``path``; return the native id of the last one."""
        raise NotImplementedError(f"{self.kind} has no folders")

    # ---- cases -----------------------------------------------------------------------------------------
    @abc.abstractmethod
    def iter_cases(self, *, since: datetime | None = None) -> Iterator[Case]:
        """Every case in scope (or, with ``since`` and ``capabilities.incremental_cases``, those changed)."""

    def iter_case_refs(self) -> Iterator[Case]:
        """Every case in scope with at least ``id``, ``automation_key`` and ``marker`` filled, for matching only
        (the CI step). Other fields may be left empty, so adapters whose full conversion is costly (HTML
        steps) can skip it here. Default: :meth:`iter_cases`."""
        return self.iter_cases()

    @abc.abstractmethod
    def get_case(self, case_id: str) -> Case | None:
        """Direct lookup; None when the case does not exist (or is deleted). Confirms deletions."""

    def find_case_by_marker(self, marker: str) -> Case | None:
        """The case carrying ``marker``, or None. Default: scan the listing."""
        return next((c for c in self.iter_cases() if c.marker == marker), None)

    def find_cases_by_markers(self, markers: Collection[str]) -> dict[str, Case]:
        """The cases carrying any of ``markers``, by marker (the markers of the creates a dead run left open:
        a batch of them after a crash). Default: one scan of the listing when :meth:`find_case_by_marker` is
        the scan, else that lookup for each marker; an adapter whose lookup is costly overrides this."""
        wanted = set(markers)
        if not wanted:
            return {}
        if type(self).find_case_by_marker is Adapter.find_case_by_marker:
            found: dict[str, Case] = {}
            for case in self.iter_cases():
                if case.marker in wanted:
                    found.setdefault(case.marker, case)
            return found
        return {m: c for m in sorted(wanted) if (c := self.find_case_by_marker(m)) is not None}

    def check_case(self, case: Case) -> list[Unrepresentable]:
        """What of ``case`` this system cannot hold. Default: check ``capabilities.limits``."""
        return check_limits(case, self.capabilities.limits)

    def inspect_case(self, case: Case) -> CheckedCase:
        """:meth:`check_case`, with what the check worked out kept for :meth:`create_checked`. Default: nothing
        kept."""
        return CheckedCase(case, self.check_case(case))

    @abc.abstractmethod
    def create_case(self, case: Case, *, marker: str) -> Case:
        """Create the case (and its folder path) carrying ``marker``; return it as stored."""

    def create_checked(self, checked: CheckedCase, *, marker: str) -> Case:
        """:meth:`create_case` of ``checked.case``, which :meth:`inspect_case` of this adapter checked (the case
        not changed since). Default: create_case, which checks again; an adapter whose check costs a part of
        the create overrides this to use the verdict."""
        return self.create_case(checked.case, marker=marker)

    @abc.abstractmethod
    def update_case(self, case_id: str, case: Case) -> Case:
        """Replace the case's content with ``case``'s; return it as stored."""

    @abc.abstractmethod
    def delete_case(self, case_id: str) -> None:
        """Delete (or soft-delete, where the system does) the case."""

    def restore_case(self, case_id: str, case: Case, *, marker: str) -> Case | None:
        """Bring back the deleted case ``case_id`` as the same record, with ``case``'s content and carrying
        ``marker`` (as ``create_case`` would); return it as stored.

        Fields left unset on ``case`` (pydantic's ``model_fields_set``: the other side has no place for them)
        keep the deleted record's values. None (the default): this system cannot restore the case, or it is
        gone for good, so the engine creates it again instead.
        """
        return None

    # ---- plans -----------------------------------------------------------------------------------------
    def iter_plans(self) -> Iterator[Plan]:
        raise NotImplementedError(f"{self.kind} has no plans")

    def iter_plans_since(self, since: datetime | None, linked: Collection[str]) -> Iterator[Plan | PlanUnchanged]:
        """Every plan, each with ``updated_at`` set to its last change; a plan of ``linked`` whose last change
        is not after ``since`` comes as :class:`PlanUnchanged` (its cases not read). ``since`` None: all in
        full. Only with ``capabilities.incremental_plans``."""
        raise NotImplementedError(f"{self.kind} cannot tell unchanged plans")

    def iter_plan_refs(self) -> Iterator[Plan]:
        """Every plan with at least ``id``, ``name``, ``state`` and ``marker`` filled, for finding one by name
        (the CI step); runs may be left empty where reading them costs requests. Default: :meth:`iter_plans`."""
        return self.iter_plans()

    def get_plan(self, plan_id: str) -> Plan | None:
        raise NotImplementedError(f"{self.kind} has no plans")

    def find_plan_by_marker(self, marker: str) -> Plan | None:
        return next((p for p in self.iter_plans() if p.marker == marker), None)

    def check_plan(self, plan: Plan) -> list[Unrepresentable]:
        return []

    def create_plan(self, plan: Plan, *, marker: str) -> Plan:
        raise NotImplementedError(f"{self.kind} cannot create plans")

    def update_plan(self, plan_id: str, plan: Plan) -> Plan:
        raise NotImplementedError(f"{self.kind} cannot update plans")

    def delete_plan(self, plan_id: str) -> None:
        raise NotImplementedError(f"{self.kind} cannot delete plans")

    # ---- results ---------------------------------------------------------------------------------------
    def iter_results(self, *, plan_id: str | None = None, since: datetime | None = None) -> Iterator[Result]:
        raise NotImplementedError(f"{self.kind} has no results")

    def check_result(self, result: Result) -> list[Unrepresentable]:
        """What of ``result`` this system cannot hold. Default: a status with no native value in the maps."""
        if self.value_maps.native("status", result.status.value) is None:
            return [
                Unrepresentable(
                    "result",
                    result.id or result.case_id,
                    "status",
                    f"{result.status.value!r} has no {self.kind} status",
                )
            ]
        return []

    def prepare_results(self) -> None:  # noqa: B027 - optional hook
        """Read now what :meth:`add_results` will read before it posts (TestRail: the users), so a caller can
        overlap it with its own requests. Never raises: what fails here is asked again, and raised, by
        ``add_results``, where it always was: before anything is posted."""

    def add_results(self, results: Sequence[Result]) -> list[Result]:
        """Post results with the fewest requests the API allows (bulk, largest batches).

        Each result names ``case_id`` and the ``plan_id``/``run_id`` on this system. Returns the stored
        results in request order with their native ids. ``result.marker`` is an idempotency key: a result
        whose marker is already stored is not posted twice where the system lets us check.
        """
        raise NotImplementedError(f"{self.kind} cannot store results")


class PlanTasks(abc.ABC):
    """A system that keeps one task per synced plan, made of cases of its own that the plan's cases point to
    (the job option ``perftest``: CodeArts PerfTest). The engine opens it for a run and closes it after."""

    @abc.abstractmethod
    def ensure_plan_task(self, plan_name: str, case_ids: Sequence[int]) -> None:
        """Make the task named after ``plan_name`` hold exactly ``case_ids`` (created when missing; a rerun
        never makes a second task)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> PlanTasks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_limits(case: Case, limits: FieldLimits) -> list[Unrepresentable]:
    """The generic length/count checks against :class:`FieldLimits` (adapters add their own)."""
    problems: list[Unrepresentable] = []
    ref = case.id or case.title

    def too_long(field_name: str, value: str, limit: int | None) -> None:
        if limit is not None and len(value) > limit:
            problems.append(
                Unrepresentable("case", ref, field_name, f"{len(value)} characters, at most {limit} allowed", value)
            )

    too_long("title", case.title, limits.title)
    too_long("description", case.description, limits.description)
    too_long("preconditions", case.preconditions, limits.preconditions)
    if limits.steps is not None and len(case.steps) > limits.steps:
        problems.append(
            Unrepresentable("case", ref, "steps", f"{len(case.steps)} steps, at most {limits.steps} allowed")
        )
    for i, step in enumerate(case.steps, start=1):
        too_long(f"steps[{i}].action", step.action, limits.step_text)
        too_long(f"steps[{i}].expected", step.expected, limits.step_text)
    if limits.tags is not None and len(case.tags) > limits.tags:
        problems.append(Unrepresentable("case", ref, "tags", f"{len(case.tags)} tags, at most {limits.tags} allowed"))
    if limits.tag_length is not None:
        for tag in case.tags:
            too_long("tags", tag, limits.tag_length)
    return problems


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Split ``items`` into lists of at most ``size`` (the largest batch an endpoint accepts)."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
