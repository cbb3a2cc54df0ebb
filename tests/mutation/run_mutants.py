"""Mutation check: break each guarantee's code one line at a time and see whether its tests notice.

Not part of the pytest run (the file name does not start with ``test_``). Run it from the repository root in
the project's virtualenv::

    python tests/mutation/run_mutants.py              # every mutant
    python tests/mutation/run_mutants.py guard-min-4  # some, by name
    python tests/mutation/run_mutants.py --list

Each mutant replaces one exact snippet of one source file (it must occur exactly once, so a refactoring that
moves the code makes the script fail loudly instead of testing nothing), runs the tests named for it, and
restores the file. "killed" means those tests failed with the mutant in place; a mutant that survives is a
guarantee no test holds. The mutants are applied to a copy of the tree in a temporary directory, never to
the checkout; ``PYTHONPATH`` points at the copy, so the subprocesses the tests start (the CLI, the daemon)
import the mutated code too (it comes before the editable install on ``sys.path``).

The kill rate is printed at the end; the exit status is 0 only when every mutant was killed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IGNORED = shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.db", ".mypy_cache", ".ruff_cache", "*.egg-info")


@dataclass(frozen=True)
class Mutant:
    name: str
    guarantee: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


SYNC_RULES = "tests/e2e/test_sync_rules.py"
GUARANTEES = "tests/e2e/test_guarantees.py"
CRASH_POINTS = "tests/e2e/test_crash_points.py"
LOOKUP = GUARANTEES + "::test_a_record_a_listing_leaves_out_is_looked_up_and_kept"
GUARD = (
    GUARANTEES + "::test_mass_deletion_guard_boundaries_for_cases",
    GUARANTEES + "::test_mass_deletion_guard_covers_plans",
)
LOST_ANSWER = GUARANTEES + "::test_a_create_whose_answer_is_lost_is_not_made_twice"

MUTANTS: tuple[Mutant, ...] = (
    # ------------------------------------------------------------------------------------ write intents
    Mutant(
        "result-intent-resolved-early",
        "a result post is covered by an open intent until its copies are recorded",
        "bridge/sync/writes.py",
        '            ctx.job.name, "result", target, f"plan:{target_plan_id}", f"results:{len(outgoing)}"\n        )\n',
        '            ctx.job.name, "result", target, f"plan:{target_plan_id}", f"results:{len(outgoing)}"\n        )\n'
        '        self.resolve_intent(intent.id, "created:early")\n',
        (CRASH_POINTS,),
    ),
    Mutant(
        "case-intent-resolved-early",
        "a create is covered by an open intent until its link is saved",
        "bridge/sync/writes.py",
        "        for pending, intent_id in zip(batch, ids, strict=True):\n            pending.intent_id = intent_id\n",
        "        for pending, intent_id in zip(batch, ids, strict=True):\n            pending.intent_id = intent_id\n"
        '            self.resolve_intent(intent_id, "created:early")\n',
        (CRASH_POINTS,),
    ),
    Mutant(
        "intent-not-adopted",
        "an open intent whose record landed is adopted by its marker",
        "bridge/sync/intents.py",
        '    if not carriers:\n        ctx.writer.resolve_intent(intent.id, "abandoned")\n',
        '    if True:\n        ctx.writer.resolve_intent(intent.id, "abandoned")\n',
        (CRASH_POINTS,),
    ),
    Mutant(
        "intent-closed-when-create-may-have-landed",
        "a create whose answer was lost (dropped connection) keeps its intent open for the next run",
        "bridge/sync/writes.py",
        '                c.close = None if exc.maybe_applied else "failed"\n',
        '                c.close = "failed"\n',
        (LOST_ANSWER,),
    ),
    # --------------------------------------------------------------------------------- deletion lookup
    Mutant(
        "deletion-lookup-left-removed",
        "a record missing from the left listing is looked up before it counts as deleted",
        "bridge/sync/pairs.py",
        "            left = self.kind.get(self.ctx.left, link.left_id)\n",
        "            left = None\n",
        (LOOKUP,),
    ),
    Mutant(
        "deletion-lookup-right-removed",
        "a record missing from the right listing is looked up before it counts as deleted",
        "bridge/sync/pairs.py",
        "            right = self.kind.get(self.ctx.right, link.right_id)\n",
        "            right = None\n",
        (LOOKUP,),
    ),
    # --------------------------------------------------------------------------------- mass deletion
    Mutant(
        "guard-min-4",
        "the guard trips from 3 vanished records",
        "bridge/sync/pairs.py",
        "MASS_DELETE_MIN = 3\n",
        "MASS_DELETE_MIN = 4\n",
        GUARD,
    ),
    Mutant(
        "guard-min-2",
        "fewer than 3 vanished records never trip the guard",
        "bridge/sync/pairs.py",
        "MASS_DELETE_MIN = 3\n",
        "MASS_DELETE_MIN = 2\n",
        GUARD,
    ),
    Mutant(
        "guard-default-0.75",
        "the default threshold is 25%",
        "bridge/config.py",
        "    mass_delete_threshold: float = Field(0.25, ge=0, le=1)\n",
        "    mass_delete_threshold: float = Field(0.75, ge=0, le=1)\n",
        GUARD,
    ),
    Mutant(
        "guard-threshold-inclusive",
        "a share equal to the threshold does not trip the guard (more than the threshold does)",
        "bridge/sync/pairs.py",
        "        if vanished >= MASS_DELETE_MIN and share > ctx.job.mass_delete_threshold:\n",
        "        if vanished >= MASS_DELETE_MIN and share >= ctx.job.mass_delete_threshold:\n",
        GUARD,
    ),
    Mutant(
        "plan-guard-removed",
        "the guard also stops mass deletions of plans",
        "bridge/sync/plans.py",
        "        guard_mass_deletion(ctx, entity, active, listed)\n",
        "        pass\n",
        GUARD,
    ),
    Mutant(
        "case-guard-removed",
        "the guard stops mass deletions of cases",
        "bridge/sync/cases.py",
        "        guard_mass_deletion(ctx, entity, active, present)\n",
        "        pass\n",
        GUARD,
    ),
    # ---------------------------------------------------------------------------- daemon, run lock
    Mutant(
        "firing-claim-twice",
        "one run per scheduled firing across every daemon",
        "mappings/store.py",
        "            except IntegrityError:\n                s.rollback()\n                return False\n",
        "            except IntegrityError:\n                s.rollback()\n                return True\n",
        (
            "tests/daemon/test_firing_claim.py",
            "tests/daemon/test_multi_instance_pg.py::test_three_instances_run_each_firing_once_and_survive_a_crash",
        ),
    ),
    Mutant(
        "advisory-lock-removed",
        "one run of a job at a time on PostgreSQL (the advisory lock)",
        "bridge/runlock.py",
        '            call = "pg_advisory_lock(:k)" if wait else "pg_try_advisory_lock(:k)"'
        "  # the first waits, returns void\n",
        '            call = "true"\n',
        ("tests/daemon/test_multi_instance_pg.py::test_three_instances_run_each_firing_once_and_survive_a_crash",),
    ),
    # ----------------------------------------------------------------------- independent simulators
    Mutant(
        "apptest-sim-uses-client-codes",
        "the apptest.ai simulator answers from its own reading of the vendor codes",
        "adapters/apptest/simulator.py",
        "from adapters.simulation import ASGIApp, Faults, Simulator\n",
        "from adapters.apptest.client import RESULT_CODES  # noqa: F401\n"
        "from adapters.simulation import ASGIApp, Faults, Simulator\n",
        ("tests/foundation/test_simulator_independence.py",),
    ),
    Mutant(
        "testrail-sim-uses-adapter-timespan",
        "the TestRail simulator formats time spans itself",
        "adapters/testrail/simulator.py",
        "from adapters.simulation import ASGIApp, Faults, Simulator\n",
        "from adapters.simulation import ASGIApp, Faults, Simulator\n"
        "from adapters.testrail.timespan import format_timespan  # noqa: F401\n",
        ("tests/foundation/test_simulator_independence.py",),
    ),
    Mutant(
        "codearts-sim-uses-adapter-signer",
        "the CodeArts/PerfTest simulators verify signatures themselves",
        "adapters/codearts/cloud_sim.py",
        "from adapters.simulation import CannedResponse, Faults\n",
        "from adapters.codearts import signer  # noqa: F401\nfrom adapters.simulation import CannedResponse, Faults\n",
        ("tests/foundation/test_simulator_independence.py",),
    ),
    # ------------------------------------------------------------------------------ pacing, back-off
    Mutant(
        "pacer-not-pushed-back",
        "a throttling answer holds back every later request, not only its own retry",
        "bridge/http.py",
        "                self.pacer.push_back(min(wait, self.settings.max_retry_after))\n",
        "                pass\n",
        ("tests/foundation/test_http.py",),
    ),
    Mutant(
        "retry-after-ignored",
        "a Retry-After is waited out",
        "bridge/http.py",
        "            return min(exc.retry_after, self.settings.max_retry_after)\n",
        "            return 0.0\n",
        ("tests/foundation/test_http.py",),
    ),
    # ------------------------------------------------------------------------------ merge decisions
    Mutant(
        "merge-both-changed-not-a-conflict",
        "a field changed on both sides differently is a conflict, never a silent overwrite",
        "bridge/sync/merge.py",
        "        if l_changed and not r_changed:\n",
        "        if l_changed:\n",
        ("tests/sync/test_merge.py", SYNC_RULES),
    ),
    Mutant(
        "merge-set-fields-as-whole",
        "tags merge per element",
        "bridge/sync/merge.py",
        "        elif name in SET_FIELDS and isinstance(lv, list) and isinstance(rv, list):\n",
        "        elif False:\n",
        ("tests/sync/test_merge.py",),
    ),
    Mutant(
        "merge-one-way-writes-source",
        "a one-way job never writes its source",
        "bridge/sync/merge.py",
        '        if self.direction == "both":\n            return True\n',
        "        if True:\n            return True\n",
        (SYNC_RULES + "::test_one_way_job_writes_only_the_target",),
    ),
    # ------------------------------------------------------------------------------------ redaction
    Mutant(
        "redaction-off",
        "no secret reaches a log line",
        "bridge/redact.py",
        '    return pattern.sub("***", text)\n',
        "    return text\n",
        ("tests/foundation/test_redaction.py",),
    ),
    Mutant(
        "redaction-basic-auth-form-missing",
        "the Basic-auth form of a password is redacted too",
        "bridge/redact.py",
        '    register_secret(base64.b64encode(f"{user}:{password}".encode()).decode())\n',
        "    pass\n",
        ("tests/foundation/test_redaction.py",),
    ),
    # ------------------------------------------------------------------------------ connections
    Mutant(
        "http-pool-shared-by-threads",
        "no write fails because another worker's thread closed its connection (one httpx pool per request)",
        "bridge/http.py",
        "            with self._senders.one() as sender:\n                response = sender.send(request)\n",
        "            if True:\n                response = self._client.send(request)\n",
        ("tests/foundation/test_http.py::test_threads_sharing_a_client_never_have_a_connection_closed_under_them",),
    ),
    # ----------------------------------------------------------------------------------- echo hashes
    Mutant(
        "echo-target-hash-is-source-hash",
        "a value the target stores differently is not seen as a change next run (per-side hashes)",
        "bridge/sync/writes.py",
        '            "right_hashes": th if source == "left" else sh,\n',
        '            "right_hashes": sh,\n',
        (SYNC_RULES, "tests/e2e/test_scenario.py"),
    ),
    Mutant(
        "echo-hash-not-refreshed-after-update",
        "after an update the written side's hash is the one it stored",
        "bridge/sync/pairs.py",
        "            if name in now_r:\n                rh[name] = now_r[name]\n",
        "            if name in now_r:\n                pass\n",
        (GUARANTEES + "::test_an_update_the_target_stores_differently_does_not_echo_back", SYNC_RULES),
    ),
)


def run_one(m: Mutant, tree: Path, timeout: float) -> tuple[str, float]:
    path = tree / m.path
    source = (ROOT / m.path).read_text(encoding="utf-8")
    found = source.count(m.old)
    if found != 1:
        return f"stale (snippet found {found} times)", 0.0
    mutated = source.replace(m.old, m.new)
    try:
        compile(mutated, str(path), "exec")
    except SyntaxError as exc:
        return f"invalid ({exc})", 0.0
    started = time.monotonic()
    try:
        path.write_text(mutated, encoding="utf-8")
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *m.tests]
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(tree)}
        try:
            done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return "killed (timeout)", time.monotonic() - started
        if done.returncode == 0:
            return "SURVIVED", time.monotonic() - started
        failed = [line for line in done.stdout.splitlines() if line.startswith(("FAILED tests/", "ERROR tests/"))]
        # under pytest-xdist, -x ends a run with a failure as "interrupted" (exit 2): the FAILED line decides
        if done.returncode in (2, 3, 4, 5) and not failed:  # internal or usage error, no tests: no verdict
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-5:])
            return f"error (pytest exit {done.returncode}):\n{tail}", time.monotonic() - started
        return "killed" + (f" by {failed[0].split()[1]}" if failed else ""), time.monotonic() - started
    finally:
        path.write_text(source, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="mutants to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per mutant's tests")
    args = parser.parse_args(argv)
    if args.list:
        for m in MUTANTS:
            print(f"{m.name:40} {m.path:32} {m.guarantee}")
        return 0
    unknown = set(args.names) - {m.name for m in MUTANTS}
    if unknown:
        print(f"unknown mutant(s): {', '.join(sorted(unknown))} (see --list)", file=sys.stderr)
        return 2
    chosen = [m for m in MUTANTS if not args.names or m.name in args.names]
    # a SIGTERM unwinds like Ctrl-C: the running tests are killed and the temporary tree removed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    killed = 0
    with tempfile.TemporaryDirectory(prefix="tpb-mutants-") as tmp:
        tree = Path(tmp) / "tree"
        shutil.copytree(ROOT, tree, ignore=IGNORED)
        for m in chosen:
            killed += _report(m, *run_one(m, tree, args.timeout))
    rate = killed / len(chosen) if chosen else 1.0
    print(f"\nkilled {killed} of {len(chosen)} mutants ({rate:.0%})", flush=True)
    return 0 if killed == len(chosen) else 1


def _report(m: Mutant, verdict: str, seconds: float) -> bool:
    first, _, by = verdict.splitlines()[0].partition(" by ")
    print(f"{first:10} {m.name:42} {seconds:6.1f}s  {m.guarantee}", flush=True)
    if by:
        print(f"{'':10} (first failing test: {by})", flush=True)
    if "\n" in verdict:
        print(verdict.split("\n", 1)[1], flush=True)
    return verdict.startswith("killed")


if __name__ == "__main__":
    raise SystemExit(main())
