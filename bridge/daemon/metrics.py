"""In-process counters of the daemon and their Prometheus text rendering (format 0.0.4, written by hand).

Hand-written rather than prometheus_client: a dozen series, no histograms, and one dependency less. Counters
are per instance (Prometheus sums instances); gauges that describe the shared store (open conflicts, last
success) are read from the store when scraped, so every instance reports the same value for them.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bridge.http import RequestStats


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items()) + "}"


def _num(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


class Exposition:
    """Builds the text format: HELP/TYPE once per metric family, then its samples."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str, samples: Iterable[tuple[Mapping[str, str], float]]) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            self.lines.append(f"{name}{_labels(labels)} {_num(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


@dataclass
class Metrics:
    runs: Counter[tuple[str, str]] = field(default_factory=Counter)  # (job, status)
    records: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)  # (job, system, entity, what)
    duration_sum: dict[str, float] = field(default_factory=dict)
    duration_count: Counter[str] = field(default_factory=Counter)
    last_duration: dict[str, float] = field(default_factory=dict)
    skipped: Counter[tuple[str, str]] = field(default_factory=Counter)  # (job, reason)
    reloads: Counter[str] = field(default_factory=Counter)  # ok | failed
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record_run(
        self, job: str, status: str, seconds: float, counts: Mapping[tuple[str, str], Mapping[str, int]]
    ) -> None:
        with self._lock:
            self.runs[(job, status)] += 1
            self.duration_sum[job] = self.duration_sum.get(job, 0.0) + seconds
            self.duration_count[job] += 1
            self.last_duration[job] = seconds
            for (system, entity), by_what in counts.items():
                for what, n in by_what.items():
                    if n:
                        self.records[(job, system, entity, what)] += n

    def skip(self, job: str, reason: str) -> None:
        with self._lock:
            self.skipped[(job, reason)] += 1

    def reload(self, outcome: str) -> None:
        with self._lock:
            self.reloads[outcome] += 1

    def render(
        self,
        *,
        stats: RequestStats,
        store_up: bool,
        open_conflicts: Mapping[str, int],
        last_success: Mapping[str, datetime | None],
        jobs: Iterable[str],
    ) -> str:
        with self._lock:
            runs = dict(self.runs)
            records = dict(self.records)
            dsum, dcount, dlast = dict(self.duration_sum), dict(self.duration_count), dict(self.last_duration)
            skipped = dict(self.skipped)
            reloads = dict(self.reloads)
        out = Exposition()
        out.family("tpb_up", "gauge", "1 while the daemon runs", [({}, 1)])
        out.family("tpb_store_up", "gauge", "1 when the mapping store answers", [({}, 1 if store_up else 0)])
        out.family(
            "tpb_runs_total",
            "counter",
            "Job runs by this instance, by final status",
            [({"job": j, "status": s}, n) for (j, s), n in sorted(runs.items())],
        )
        out.family(
            "tpb_records_synced_total",
            "counter",
            "Records handled by this instance's runs, by system written or read, entity and outcome",
            [({"job": j, "system": sy, "entity": e, "action": w}, n) for (j, sy, e, w), n in sorted(records.items())],
        )
        out.family(
            "tpb_firings_skipped_total",
            "counter",
            "Firings this instance did not run (backoff, busy elsewhere, claimed elsewhere, overlap)",
            [({"job": j, "reason": r}, n) for (j, r), n in sorted(skipped.items())],
        )
        out.lines.append("# HELP tpb_run_duration_seconds Duration of this instance's runs")
        out.lines.append("# TYPE tpb_run_duration_seconds summary")
        for j in sorted(dsum):
            out.lines.append(f"tpb_run_duration_seconds_sum{_labels({'job': j})} {_num(round(dsum[j], 6))}")
            out.lines.append(f"tpb_run_duration_seconds_count{_labels({'job': j})} {_num(dcount[j])}")
        out.family(
            "tpb_last_run_duration_seconds",
            "gauge",
            "Duration of this instance's latest run of each job",
            [({"job": j}, round(v, 6)) for j, v in sorted(dlast.items())],
        )
        out.family(
            "tpb_conflicts_open",
            "gauge",
            "Open conflicts in the store, by job",
            [({"job": j}, open_conflicts.get(j, 0)) for j in sorted(set(jobs) | set(open_conflicts))],
        )
        out.family(
            "tpb_last_success_timestamp_seconds",
            "gauge",
            "Start of the latest successful run of each job (any instance), Unix time",
            [({"job": j}, t.replace(tzinfo=t.tzinfo or UTC).timestamp()) for j, t in sorted(last_success.items()) if t],
        )
        snapshot = stats.snapshot()
        requests: Counter[tuple[str, str, str, str]] = Counter()
        errors: Counter[str] = Counter()
        for key, n in snapshot.items():
            requests[(key.system, key.method, key.route, str(key.status))] += n
            if key.status >= 400 or key.status == 0:
                errors[key.system] += n
        out.family(
            "tpb_api_requests_total",
            "counter",
            "HTTP requests to each system by method, route and status (0: no answer)",
            [
                ({"system": s, "method": m, "route": r, "status": st}, n)
                for (s, m, r, st), n in sorted(requests.items())
            ],
        )
        out.family(
            "tpb_api_errors_total",
            "counter",
            "HTTP requests to each system that failed (status >= 400 or no answer)",
            [({"system": s}, errors.get(s, 0)) for s in sorted({k.system for k in snapshot})],
        )
        out.family(
            "tpb_config_reloads_total",
            "counter",
            "SIGHUP config reloads by outcome",
            [({"outcome": o}, n) for o, n in sorted(reloads.items())],
        )
        return out.text()
