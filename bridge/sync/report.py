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
    #: open conflict entries of the job after the run, by entity (what ``conflicts list --job`` then lists)
    conflicts_open: dict[str, int] = field(default_factory=dict)
    #: entries this run opened, and entries it closed because they no longer hold
    conflicts_opened: int = 0
    conflicts_closed: int = 0
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


def shown(value: Any, width: int = 100) -> str:
    """A value for a person to read on one line (the value itself is never shortened, only its display)."""
    import json

    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= width else f"{text[: width - 1]}… ({len(text)} characters)"


def action_lines(action: PlannedAction, *, would: bool) -> list[str]:
    """An action as a person reads it, with every changed field as ``old -> new`` (like ``terraform plan``)."""
    if action.action in ("conflict", "close"):
        verb = {"conflict": "log", "close": "close"}[action.action]
        verb = f"would {verb}" if would else {"log": "logged", "close": "closed"}[verb]
        return [f"  {verb} conflict ({action.detail}): {action.entity} {action.record}"]
    verb = f"would {action.action}" if would else action.action
    where = f" on {action.system}" if action.system != "-" else ""
    head = f"  {verb} {action.entity}{where}: {action.record}" + (f" ({action.detail})" if action.detail else "")
    return [head] + [f"      {c.field}: {shown(c.old)} -> {shown(c.new)}" for c in action.changes]
