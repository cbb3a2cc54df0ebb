"""The review pages: jobs, conflicts (filtered), one conflict with its decision forms, run history.

A decision taken here is :func:`bridge.conflict_commands.resolve`, the same as ``conflicts resolve``: stored,
then carried out by the next sync.
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape

from bridge.errors import BridgeError
from bridge.output import arrow
from bridge.redact import redact
from bridge.review import data
from bridge.review.web import COOKIE, Guard, Request, Response, redirect

if TYPE_CHECKING:
    from bridge.config import Config, Job
    from mappings.store import Store
    from mappings.tables import Conflict

log = logging.getLogger("bridge.review")

KINDS = ("edit", "first-sight", "cannot-represent", "delete-vs-modify", "deleted", "ambiguous-match", "duplicate")
_CONFLICT = re.compile(r"^/conflicts/(\d+)$")
_RESOLVE = re.compile(r"^/conflicts/(\d+)/resolve$")


class ReviewApp:
    def __init__(self, cfg: Config, store: Store, *, token: str | None) -> None:
        self.cfg = cfg
        self.store = store
        self.guard = Guard(token)
        self.env = Environment(
            loader=PackageLoader("bridge.review", "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["pretty"] = data.pretty
        self.env.filters["clean"] = lambda text: redact(str(text))  # run errors: no secret, whatever they hold

    # ------------------------------------------------------------------------------------------ dispatch
    def handle(self, req: Request) -> Response:
        if not self.guard.authorized(req):
            return self._page("denied.html", status=401, title="Token required")
        if self.guard.token is not None and "token" in req.query:
            # keep the token out of the address bar, history and logs: a cookie from now on
            rest = {k: v for k, v in req.query.items() if k != "token"}
            cookie = f"{COOKIE}={req.query['token']}; HttpOnly; SameSite=Strict; Path=/"
            return redirect(req.path + (f"?{urlencode(rest)}" if rest else ""), **{"Set-Cookie": cookie})
        try:
            return self._route(req)
        except BridgeError as exc:
            return self._page("error.html", status=400, title="Error", message=str(exc))

    def _route(self, req: Request) -> Response:
        path = req.path
        if req.method == "POST":
            m = _RESOLVE.match(path)
            if m:
                return self._resolve(int(m.group(1)), req)
            return Response(405, b"method not allowed", "text/plain")
        if req.method not in ("GET", "HEAD"):
            return Response(405, b"method not allowed", "text/plain")
        if path in ("/", "/jobs"):
            return self._jobs()
        if path == "/conflicts":
            return self._conflicts(req.query)
        m = _CONFLICT.match(path)
        if m:
            return self._conflict(int(m.group(1)), req.query)
        if path == "/runs":
            return self._runs(req.query)
        return self._page("error.html", status=404, title="Not found", message=f"no page at {path}")

    def _page(self, template: str, *, status: int = 200, **context: Any) -> Response:
        html = self.env.get_template(template).render(nav=True, **context)
        return Response(status, html.encode("utf-8"))

    # ----------------------------------------------------------------------------------------- pages
    def _jobs(self) -> Response:
        open_by_job = {job: sum(n.values()) for job, n in self.store.conflict_counts().items()}
        jobs = []
        for job in self.cfg.jobs:
            runs = self.store.runs(job=job.name, limit=5)
            jobs.append(
                {
                    "name": job.name,
                    "left": data.system_label(self.cfg, job.left),
                    "right": data.system_label(self.cfg, job.right),
                    "arrow": arrow(job.direction),
                    "schedule": job.schedule or "",
                    "runs": [_run_view(r) for r in runs],
                    "open": open_by_job.get(job.name, 0),
                    "links": self.store.link_count(job.name),
                }
            )
        return self._page("jobs.html", title="Jobs", jobs=jobs)

    def _conflicts(self, query: dict[str, str]) -> Response:
        job, kind, entity = query.get("job") or None, query.get("kind") or None, query.get("entity") or None
        state = query.get("state") or "open"
        rows = self.store.conflicts(job=job, kind=kind, entity=entity, open_only=state == "open")
        if state == "resolved":
            rows = [c for c in rows if c.resolved_at is not None]
        view = [self._row(c) for c in rows]
        return self._page(
            "conflicts.html",
            title="Conflicts",
            rows=view,
            jobs=[j.name for j in self.cfg.jobs],
            kinds=KINDS,
            entities=("folder", "case", "plan", "result"),
            states=("open", "resolved", "all"),
            chosen={"job": job or "", "kind": kind or "", "entity": entity or "", "state": state},
        )

    def _row(self, c: Conflict) -> dict[str, Any]:
        job = self._job(c)
        titles = data.titles(self.store, c)
        return {
            "c": c,
            "left_title": titles.left,
            "right_title": titles.right,
            "left": data.system_label(self.cfg, job.left) if job else "left",
            "right": data.system_label(self.cfg, job.right) if job else "right",
        }

    def _conflict(self, conflict_id: int, query: dict[str, str], *, error: str = "", status: int = 200) -> Response:
        c = self.store.conflict(conflict_id)
        if c is None:
            return self._page("error.html", status=404, title="Not found", message=f"no conflict with id {conflict_id}")
        job = self._job(c)
        left, right = (job.left, job.right) if job else ("left", "right")
        steps = data.is_steps(c)
        decidable = c.resolved_at is None and c.kind in ("edit", "first-sight", "cannot-represent")
        return self._page(
            "conflict.html",
            status=status,
            title=f"Conflict {c.id}",
            row=self._row(c),
            c=c,
            left_link=data.record_url(self.cfg, left, c.entity, c.left_id),
            right_link=data.record_url(self.cfg, right, c.entity, c.right_id),
            steps=data.step_rows(c.base_value, c.left_value, c.right_value) if steps else None,
            merged_steps=data.step_rows(c.base_value, c.left_value, c.right_value) if steps else None,
            decidable=decidable,
            editable_text=c.left_value if isinstance(c.left_value, str) else json.dumps(c.left_value, indent=2),
            csrf=self.guard.form_token(),
            done=query.get("done", ""),
            error=error,
            by=self.cfg.ui.resolved_by,
        )

    def _runs(self, query: dict[str, str]) -> Response:
        job = query.get("job") or None
        runs = [_run_view(r) for r in self.store.runs(job=job, limit=100)]
        return self._page("runs.html", title="Run history", runs=runs, jobs=[j.name for j in self.cfg.jobs], job=job)

    # ------------------------------------------------------------------------------------------ forms
    def _resolve(self, conflict_id: int, req: Request) -> Response:
        from bridge.conflict_commands import resolve

        form = req.form()
        problem = self.guard.cross_site_problem(req, form)
        if problem is not None:
            log.warning("review form refused", extra={"conflict": conflict_id, "why": problem})
            return self._page("error.html", status=403, title="Refused", message=problem)
        take = form.get("take", "")
        if take == "steps":
            steps = []
            n = 1
            while f"action_{n}" in form:
                if not form.get(f"drop_{n}"):
                    steps.append({"action": form[f"action_{n}"], "expected": form.get(f"expected_{n}", "")})
                n += 1
            take = "value=" + json.dumps(steps, ensure_ascii=False)
        elif take == "value":
            take = "value=" + form.get("value", "")
        elif take == "pair":  # an ambiguous match: the two records to link
            take = "value=" + json.dumps({"left": form.get("left", ""), "right": form.get("right", "")})
        elif take == "keep":  # a duplicate kept as a record of its own
            take = "value=keep"
        elif take not in ("left", "right"):
            return self._conflict(conflict_id, {}, error="choose left, right, or give a value", status=400)
        by = (form.get("by") or self.cfg.ui.resolved_by).strip()[:200]
        try:
            says = resolve(self.cfg, self.store, conflict_id, take, by)
        except BridgeError as exc:
            return self._conflict(conflict_id, {}, error=str(exc), status=400)
        log.info("conflict resolved from the review page", extra={"conflict": conflict_id, "by": by})
        return redirect(f"/conflicts/{conflict_id}?{urlencode({'done': says})}")

    def _job(self, c: Conflict) -> Job | None:
        from bridge.conflict_commands import job_of

        try:
            return job_of(self.cfg, c)
        except BridgeError:
            return None


def _run_view(run: Any) -> dict[str, Any]:
    counts = []
    for key, c in sorted((run.counts or {}).items()):
        if isinstance(c, dict) and any(c.values()):
            system, _, entity = key.partition("/")
            counts.append({"system": system, "entity": entity, "counts": {k: v for k, v in sorted(c.items()) if v}})
    return {
        "id": run.id,
        "job": run.job,
        "kind": run.kind + (" (dry run)" if run.dry_run else ""),
        "started": f"{run.started_at:%Y-%m-%d %H:%M:%S}",
        "status": run.status,
        "duration": f"{run.duration_s:.1f}s" if run.duration_s is not None else "",
        "counts": counts,
        "errors": list(run.errors or []),
    }
