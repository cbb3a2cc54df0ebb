"""The store's tables (sqlmodel). Changing a table means adding a migration in :mod:`mappings.migrations`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from mappings.link_hashes import track


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A time read back from the store: SQLite hands datetimes back without their zone; the store writes UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class SchemaVersion(SQLModel, table=True):
    __tablename__ = "tpb_schema_version"

    version: int = Field(primary_key=True)
    applied_at: datetime = Field(default_factory=utcnow)


class Link(SQLModel, table=True):
    """Which record on the left is which on the right, for one job, with the last agreed state of the pair.

    ``base`` is the agreed normalized content (in the job's shared terms: plan memberships use left ids).
    ``left_hashes``/``right_hashes`` are per-field content hashes of each side as last read or written: a side
    changed a field when its current hash differs from its stored one. Keeping them per side (not one hash
    for both) is what keeps a lossy system (fewer priorities, HTML re-formatting) from echoing forever.
    The store keeps ``right_hashes`` as what differs from ``left_hashes`` (:mod:`mappings.link_hashes`); a
    ``Link`` always holds both in full.
    """

    __tablename__ = "tpb_link"
    __table_args__ = (
        UniqueConstraint("job", "entity", "left_id", name="uq_link_left"),
        UniqueConstraint("job", "entity", "right_id", name="uq_link_right"),
    )

    id: int | None = Field(default=None, primary_key=True)
    #: (no index of its own: ``uq_link_left`` begins with the job, and answers every query by job)
    job: str = Field(max_length=200)
    entity: str = Field(max_length=20)
    left_id: str = Field(max_length=200)
    right_id: str = Field(max_length=200)
    marker: str | None = Field(default=None, max_length=64)
    #: active | unlinked (a tombstone: the pair was unlinked after a deletion and must not be re-created)
    state: str = Field(default="active", max_length=12)
    base: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    left_hashes: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    right_hashes: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


track(Link)


class LinkIds(Protocol):
    """What most of a sync needs of a link: which records it pairs (a :class:`Link`, or a :class:`LinkRef`)."""

    id: int | None
    job: str
    entity: str
    left_id: str
    right_id: str
    marker: str | None
    state: str


@dataclass(slots=True)
class LinkRef:
    """A link's identity without its agreed state: cheap to build and to hold, many thousands at a time (a
    :class:`Link` costs ~0.1 ms to construct and a few KB with its base). Never saved. Read by
    :meth:`mappings.store.Store.link_summaries`, it carries no marker."""

    id: int | None
    job: str
    entity: str
    left_id: str
    right_id: str
    marker: str | None
    state: str


class Conflict(SQLModel, table=True):
    """A decision the bridge did not take alone (or took by policy, keeping the losing value).

    One entry per record, field and kind while the conflict holds (schema version 5): a run that finds it
    again updates the entry in place, and a run that finds the record without it closes the entry
    (resolution ``auto``). ``subject`` is the stable key of the record within the job and entity
    (``left:<id>`` / ``right:<id>`` of the record the entry is about, ``key:<match key>`` for an ambiguous
    match, ``duplicate:<side>:<id>`` for a duplicate); ``record`` is only the human-readable form of it.
    """

    __tablename__ = "tpb_conflict"
    __table_args__ = (
        Index("ix_conflict_open", "job", "resolved_at"),
        Index("ix_conflict_subject", "job", "entity", "subject"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=200)
    entity: str = Field(max_length=20)
    #: edit | first-sight | cannot-represent | delete-vs-modify | deleted | ambiguous-match | duplicate
    kind: str = Field(max_length=40)
    record: str = Field(max_length=400, description="Human-readable record reference")
    subject: str | None = Field(default=None, max_length=420)
    left_id: str | None = Field(default=None, max_length=200)
    right_id: str | None = Field(default=None, max_length=200)
    field: str | None = Field(default=None, max_length=200)
    #: cannot-represent: the side that cannot hold the value (left | right)
    side: str | None = Field(default=None, max_length=5)
    #: cannot-represent: content hash of the value that side cannot hold (a resolution holds while it is equal)
    value_hash: str | None = Field(default=None, max_length=64)
    #: cannot-represent: the record as it was to be written (a value given to resolve it is checked in it)
    attempt: Any = Field(default=None, sa_column=Column(JSON))
    base_value: Any = Field(default=None, sa_column=Column(JSON))
    left_value: Any = Field(default=None, sa_column=Column(JSON))
    right_value: Any = Field(default=None, sa_column=Column(JSON))
    message: str = Field(default="", sa_column=Column(Text, nullable=False))
    detected_at: datetime = Field(default_factory=utcnow)
    run_id: int | None = None
    #: the last run that found the conflict still there
    last_seen_at: datetime | None = None
    last_run_id: int | None = None
    resolved_at: datetime | None = None
    #: how it was resolved: left | right | value | accepted (a loss accepted for this value) | policy:<name>
    #: | auto (the sides agree again, the value fits, or the record is gone) | restored | keep | linked
    resolution: str | None = Field(default=None, max_length=60)
    resolved_value: Any = Field(default=None, sa_column=Column(JSON))
    resolved_by: str | None = Field(default=None, max_length=200)
    #: a user's resolution is applied by the next sync run; then this is set
    applied_at: datetime | None = None

    def key(self) -> tuple[str, str, str | None, str | None, str | None]:
        """What makes two entries the same entry (see the class docstring)."""
        return (self.entity, self.kind, self.subject, self.field, self.side)


class Note(SQLModel, table=True):
    """Something a run did that loses nothing but is worth knowing (schema version 5): a value the other side
    stored differently from what was sent, plan members that are not linked. Kept apart from conflicts:
    nothing waits for a person. One entry per record, field and kind, refreshed when seen again."""

    __tablename__ = "tpb_note"
    __table_args__ = (Index("ix_note_subject", "job", "entity", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=200)
    entity: str = Field(max_length=20)
    #: lossy-write | unlinked-members
    kind: str = Field(max_length=40)
    record: str = Field(max_length=400)
    subject: str | None = Field(default=None, max_length=420)
    field: str | None = Field(default=None, max_length=200)
    left_value: Any = Field(default=None, sa_column=Column(JSON))
    right_value: Any = Field(default=None, sa_column=Column(JSON))
    message: str = Field(default="", sa_column=Column(Text, nullable=False))
    run_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)


class Run(SQLModel, table=True):
    __tablename__ = "tpb_run"

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(index=True, max_length=200)
    kind: str = Field(default="sync", max_length=20)  # sync | migrate | ci
    dry_run: bool = False
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    #: running | ok | errors | failed | aborted
    status: str = Field(default="running", max_length=20)
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    errors: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    duration_s: float | None = None
    instance: str | None = Field(default=None, max_length=200)
    #: last sign of life of a run in progress (schema version 4): a run left "running" by a process that died
    #: is marked aborted by the next run of the job, as last seen at this time
    heartbeat_at: datetime | None = None
    #: the daemon firing (``tpb_firing.id``) this run carries out (schema version 6); None outside the daemon
    firing_id: int | None = None


class Intent(SQLModel, table=True):
    """A create about to be sent to a remote system, recorded (committed) before the request.

    If the process dies between the remote create and the link, the next run finds the intent still open,
    looks the marker up on the target system, and adopts the record instead of creating it again.
    """

    __tablename__ = "tpb_intent"
    __table_args__ = (Index("ix_intent_open", "job", "resolved_at"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=200)
    entity: str = Field(max_length=20)
    target_side: str = Field(max_length=5)  # left | right
    source_id: str = Field(max_length=200)
    marker: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    resolved_at: datetime | None = None
    #: created:<id> | adopted:<id> | abandoned
    outcome: str | None = Field(default=None, max_length=240)


class ResultCopy(SQLModel, table=True):
    """A result copied from one side to the other (results are events: each is copied exactly once)."""

    __tablename__ = "tpb_result_copy"
    __table_args__ = (
        UniqueConstraint("job", "source_side", "source_id", name="uq_result_source"),
        Index("ix_result_target", "job", "target_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=200)
    source_side: str = Field(max_length=5)
    source_id: str = Field(max_length=200)
    target_id: str | None = Field(default=None, max_length=200)
    marker: str = Field(max_length=64)
    #: target case | status | execution time (s): recognises the copy when the target reads it back under an id
    #: of its own (CodeArts lists only "case:execution number", never the id it answered the post with)
    fingerprint: str | None = Field(default=None, max_length=300)
    copied_at: datetime = Field(default_factory=utcnow)


class ReadMark(SQLModel, table=True):
    """Where the last complete read of one side of a job ended, for incremental reads (schema version 3).

    ``watermark`` is the newest change time the side reported (its own clock, so no skew with ours);
    ``full_read_at`` is when the side was last read in full, which is when deletions on it were last seen.
    """

    __tablename__ = "tpb_read_mark"
    __table_args__ = (UniqueConstraint("job", "side", "entity", name="uq_read_mark"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=200)
    side: str = Field(max_length=5)
    entity: str = Field(max_length=20)
    watermark: datetime
    full_read_at: datetime
