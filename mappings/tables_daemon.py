"""Tables the daemon needs when several instances share one store (schema version 2)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from mappings.tables import utcnow


class Firing(SQLModel, table=True):
    """One scheduled firing of a job. The unique key makes exactly one instance run each firing."""

    __tablename__ = "tpb_firing"
    __table_args__ = (UniqueConstraint("job", "scheduled_for", name="uq_firing"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=200)
    scheduled_for: datetime
    instance: str = Field(max_length=200)
    claimed_at: datetime = Field(default_factory=utcnow)
    run_id: int | None = None
