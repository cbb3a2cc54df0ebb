"""Bridge markers: the id the bridge stores in a field it owns on every record it creates.

A marker is derived from the job, the entity and the source record, so the same create always carries the
same marker: after a crash the record can be found and adopted, and even a lost store can be rebuilt by
matching markers.
"""

from __future__ import annotations

import hashlib

PREFIX = "tpb-"


def marker_for(job: str, entity: str, source_side: str, source_id: str) -> str:
    digest = hashlib.sha256(f"{job}|{entity}|{source_side}|{source_id}".encode()).hexdigest()
    return PREFIX + digest[:24]
