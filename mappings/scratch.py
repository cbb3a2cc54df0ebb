"""A scratch copy of one job's part of the store, in memory: a dry run is the real run against it.

The dry run then takes every decision with the same code and the same store reads as the run that follows
(links saved for records it would create, intents, conflict entries opened and closed), and none of it is
kept.
"""

from __future__ import annotations

from sqlalchemy import create_engine, select
from sqlalchemy.pool import StaticPool

from mappings.store import Store, json_text
from mappings.tables import Conflict, Intent, Link, Note, ReadMark, ResultCopy

#: the tables that hold a job's state (runs and daemon firings are history, not state)
JOB_TABLES = (Link, Conflict, Note, Intent, ResultCopy, ReadMark)


def scratch_copy(store: Store, job: str) -> Store:
    # one connection shared by every thread: an in-memory SQLite database exists once per connection
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}, json_serializer=json_text
    )
    scratch = Store("sqlite://", engine=engine)
    with store.engine.connect() as source, engine.begin() as target:
        for model in JOB_TABLES:
            table = model.__table__  # type: ignore[union-attr]
            rows = [dict(r) for r in source.execute(select(table).where(table.c.job == job)).mappings()]
            if rows:
                target.execute(table.insert(), rows)
    return scratch
