"""What a run did (or, in a dry run, would do): counts per system and entity, the actions, errors and notes."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldChange:
    """One field of a planned update: its value on the written side now, and the value written."""

    field: str
    old: Any
    new: Any


@dataclass
class PlannedAction:
    entity: str
    action: str  # create | update | delete | unlink | adopt | conflict | restore | link | task | ...
    system: str
    record: str
    detail: str = ""
    changes: tuple[FieldChange, ...] = ()

    def key(self) -> tuple[Any, ...]:
        """What makes two actions the same action (a dry run's plan and the run that follows compare by it)."""
        return (self.entity, self.action, self.system, self.record, self.detail, self.changes)


@dataclass
class SyncReport:
    job: str
    left: str
    right: str
    dry_run: bool
    counts: dict[tuple[str, str], Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    actions: list[PlannedAction] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    run_id: int | None = None
    status: str = "running"
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, system: str, entity: str, what: str, n: int = 1) -> None:
        with self._lock:
            self.counts[(system, entity)][what] += n

    def act(self, action: PlannedAction) -> None:
        with self._lock:
            self.actions.append(action)

    def error(self, message: str) -> None:
        with self._lock:
            self.errors.append(message)

    def note(self, message: str) -> None:
        with self._lock:
            self.notes.append(message)

    def total(self, what: str) -> int:
        return sum(c[what] for c in self.counts.values())

    def as_counts(self) -> dict[str, Any]:
        return {f"{system}/{entity}": dict(c) for (system, entity), c in sorted(self.counts.items())}

    def flat(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for c in self.counts.values():
            totals.update(c)
        return dict(totals)


ProgressHook = Callable[[str, int | None], Callable[[int], None]]


def no_progress(_label: str, _total: int | None) -> Callable[[int], None]:
    return lambda _n: None
