"""TestPlanIt simulator: the model API (``/api/model/{model}/{op}``) of the real 0.11.x server, in process.

Faithful to what the recorded transcript shows the real server doing (see tests/fixtures/testplanit):

- tokens ``Bearer tpi_...``; a bad token is 401 ``INVALID_TOKEN``, a bearer without ``tpi_`` is 401
  ``INVALID_FORMAT``, and **no token at all reads as an empty answer** (200 ``{"data": []}``/``null``/``0``):
  the access policy hides every row from an anonymous caller instead of refusing the request;
- reads are GET with ``?q=<JSON>`` only (other methods: 400), creates POST (201), updates PATCH/PUT, deletes
  DELETE with ``?q=`` (a body is ignored: 400 "where field is required");
- answers are ``{"data": ..., "meta": {"serialization": ...}}`` with superjson meta naming Date paths;
- errors are ``{"error": {"message", "prisma", "code", ...}}``: P2002 unique 400, P2025 404, policy 403;
- request arguments are checked against the server's own input schemas (:mod:`.siminputs`): an enum value
  outside the schema or a filter of the wrong type is Prisma's 400;
- templates, case fields, field options and values, result fields and the project assignment models are
  served as the real server stores them (FIELDS-NOTES); field values are not checked, as on the server;
- soft-deleted rows keep their unique keys (a case created again collides: 400 P2002).

What it starts with is :mod:`.simseed`'s: the server seed, then a project made in the UI (the default) or
like the repo's seed data (``seed_style="repo"`` or a negative seed). Seeded data is deterministic for a
seed; with no seed the project exists but holds no folder and no case.
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
import threading
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.simulation import ASGIApp, Faults, Simulator
from adapters.testplanit.simdb import Database, PrismaError, Row, invalid, not_found
from adapters.testplanit.siminputs import check_arguments
from adapters.testplanit.simschema import DELETE_OPS, MODELS, PATCH_OPS, POST_OPS, READ_OPS, SERVED
from adapters.testplanit.simseed import ADMIN_ID, STYLES, Seeder


class TestPlanItSimulator(Simulator):
    """In-memory TestPlanIt. ``credentials()`` -> ``{"token", "project_id"}``."""

    __test__ = False
    system = "testplanit"

    def __init__(
        self,
        *,
        seed: int | None = None,
        faults: Faults | None = None,
        cases: int | None = None,
        steps_per_case: int = 3,
        folders: int | None = None,
        project_name: str = "Demo Project",
        seed_style: str | None = None,
    ) -> None:
        """``seed_style`` "ui" (the default) or "repo" (see :mod:`adapters.testplanit.simseed`); a negative seed
        selects "repo" too, so ``testplan-bridge simulate testplanit --seed -1`` serves the repo-style data."""
        super().__init__(seed=seed, faults=faults)
        style = seed_style or ("repo" if seed is not None and seed < 0 else "ui")
        if style not in STYLES:
            raise ValueError(f"seed_style must be one of {', '.join(STYLES)}, not {style!r}")
        self.seed_style = style
        self.db = Database()
        self.lock = threading.RLock()
        #: token -> (user id, may write)
        self.tokens: dict[str, tuple[str, bool]] = {}
        self.token = self.add_token(ADMIN_ID, name="bridge", email="admin@example.com")
        seeder = Seeder(self.db)
        seeder.server()
        self.template_id: int = seeder.template_id
        self.field_ids = seeder.fields
        self.option_ids = seeder.options
        self.project_id, self.repository_id = seeder.project(project_name, style)
        if seed is not None or cases:
            seeder.data(
                random.Random(abs(seed or 0)),
                style,
                self.project_id,
                self.repository_id,
                cases=cases if cases is not None else 30,
                steps_per_case=steps_per_case,
                folders=folders,
            )

    # ------------------------------------------------------------------------------------ public setup
    def credentials(self) -> dict[str, Any]:
        return {"token": self.token, "project_id": self.project_id}

    def add_token(self, user_id: str, *, name: str = "user", email: str | None = None, can_write: bool = True) -> str:
        """A new API token for ``user_id`` (the user is created when missing); returns the secret."""
        token = "tpi_" + secrets.token_urlsafe(32)[:43]
        with self.lock:
            if user_id not in self.db.tables["user"]:
                self.db.insert("user", {"id": user_id, "name": name, "email": email or f"{user_id}@example.com"})
            self.db.insert(
                "apiToken",
                {
                    "name": name,
                    "token": hashlib.sha256(token.encode()).hexdigest(),
                    "tokenPrefix": token[:12],
                    "userId": user_id,
                },
            )
            self.tokens[token] = (user_id, can_write)
        return token

    def rows(self, model: str) -> list[Row]:
        """Rows of a table, for tests (a copy of each row)."""
        with self.lock:
            return [dict(r) for r in self.db.tables[model].values()]

    # ------------------------------------------------------------------------------------ the app
    def build_app(self) -> ASGIApp:
        app = Starlette(
            routes=[
                Route(
                    "/api/model/{model}/{op}", self._model_endpoint, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]
                ),
                Route("/api/cli/lookup", self._lookup, methods=["POST"]),
                # the UI's case history route takes a browser session only: a Bearer token is refused
                Route("/api/repository/cases/{case_id}/versions", _session_only, methods=["GET", "POST"]),
            ]
        )
        return app  # type: ignore[return-value]

    def _auth(self, request: Request) -> tuple[str | None, bool] | Response:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            return None, False
        token = header[7:].strip()
        if not token.startswith("tpi_"):
            return JSONResponse({"error": "Invalid token format", "code": "INVALID_FORMAT"}, status_code=401)
        found = self.tokens.get(token)
        if found is None:
            return JSONResponse({"error": "Invalid API token", "code": "INVALID_TOKEN"}, status_code=401)
        return found

    async def _model_endpoint(self, request: Request) -> Response:
        auth = self._auth(request)
        if isinstance(auth, Response):
            return auth
        user, can_write = auth
        model, op = request.path_params["model"], request.path_params["op"]
        method = request.method
        if model not in SERVED:
            return _error(400, {"message": f"unknown model name: {model}"})
        args: Any
        if op in READ_OPS or op in DELETE_OPS:
            expected = "GET" if op in READ_OPS else "DELETE"
            if method != expected:
                return _error(400, {"message": f"invalid request method, only {expected} is supported"})
            raw = request.query_params.get("q")
            try:
                args = json.loads(raw) if raw is not None else {}
            except ValueError:
                return _error(400, {"message": 'invalid "q" query parameter'})
        elif op in POST_OPS or op in PATCH_OPS:
            allowed = ("POST",) if op in POST_OPS else ("PATCH", "PUT")
            if method not in allowed:
                return _error(400, {"message": f"invalid request method, only {' or '.join(allowed)} is supported"})
            try:
                args = json.loads(await request.body() or b"{}")
            except ValueError:
                return _error(400, {"message": "invalid request body"})
        else:
            return _error(400, {"message": f"unknown operation: {op}"})
        if not isinstance(args, dict):
            return _error(400, {"message": 'invalid "q" query parameter'})
        try:
            with self.lock:
                status, data = self._run(model, op, args, user, can_write)
        except PrismaError as exc:
            return _error(exc.status, exc.error)
        return _data(status, data)

    def _run(self, model: str, op: str, args: dict[str, Any], user: str | None, can_write: bool) -> tuple[int, Any]:
        db = self.db
        check_arguments(model, op, args)
        if op in READ_OPS:
            if op in ("aggregate", "groupBy"):
                raise invalid(model, op, "The simulator does not serve aggregate/groupBy.")
            if user is None:  # the access policy hides every row from an anonymous caller
                return 200, {"findMany": [], "count": 0}.get(op)
            if op == "findUnique":
                row = db.find_unique(model, args.get("where", {}), op)
                return 200, db.shape(model, row, args, op) if row else None
            if op == "count":
                return 200, len(db.find(model, {k: v for k, v in args.items() if k != "select"}, op))
            if op == "findFirst":
                rows = db.find(model, {**args, "take": 1}, op)
                return 200, db.shape(model, rows[0], args, op) if rows else None
            return 200, [db.shape(model, r, args, op) for r in db.find(model, args, op)]
        if op in DELETE_OPS and "where" not in args:
            raise PrismaError(400, {"prisma": True, "message": "where field is required in query argument"})
        if user is None or not can_write:
            action = "create" if op in POST_OPS else "update" if op in PATCH_OPS else "delete"
            raise PrismaError(
                403,
                {
                    "message": f"denied by policy: {model} entities failed '{action}' check",
                    "prisma": True,
                    "rejectedByPolicy": True,
                    "code": "P2004",
                    "reason": "ACCESS_POLICY_VIOLATION",
                },
            )
        return db.transaction(lambda: self._write(model, op, args, user))

    def _write(self, model: str, op: str, args: dict[str, Any], user: str) -> tuple[int, Any]:
        db = self.db
        if op == "create":
            row = db.create(model, args.get("data"), user, op)  # type: ignore[arg-type]
            return 201, db.shape(model, row, args, op)
        if op == "createMany":
            items = args.get("data")
            items = items if isinstance(items, list) else [items]
            count = 0
            for item in items:
                if not isinstance(item, dict):
                    raise invalid(model, op, "Argument `data`: Invalid value provided.")
                for key in item:
                    if key not in MODELS[model].fields:
                        raise invalid(model, op, f"Unknown argument `{key}`. Available options are marked with ?.")
                try:
                    db.insert(model, item, auth=user, op=op)
                    count += 1
                except PrismaError as exc:
                    if not (args.get("skipDuplicates") and exc.error.get("code") == "P2002"):
                        raise
            return 201, {"count": count}
        if op == "upsert":
            existing = db.find_unique(model, args.get("where", {}), op)
            if existing is None:
                existing = db.create(model, args.get("create", {}), user, op)
            else:
                db.update_row(model, existing, args.get("update", {}), user, op)
            return 201, db.shape(model, existing, args, op)
        if op in ("update", "delete"):
            target = db.find_unique(model, args.get("where", {}), op)
            if target is None:
                raise not_found(model)
            if op == "update":
                db.update_row(model, target, args.get("data", {}), user, op)
                return 200, db.shape(model, target, args, op)
            shaped = db.shape(model, target, args, op)
            db.remove(model, target)
            return 200, shaped
        rows = db.find(model, {"where": args.get("where")}, op)
        for row in rows:
            if op == "updateMany":
                data = args.get("data", {})
                for key in data:
                    if key not in MODELS[model].fields:
                        raise invalid(model, op, f"Unknown argument `{key}`. Available options are marked with ?.")
                db.update_row(model, row, data, user, op)
            else:
                db.remove(model, row)
        return 200, {"count": len(rows)}

    async def _lookup(self, request: Request) -> Response:
        auth = self._auth(request)
        if isinstance(auth, Response):
            return auth
        if auth[0] is None:
            return JSONResponse({"error": "Unauthorized"}, status_code=401)
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return JSONResponse({"error": "Invalid JSON"}, status_code=400)
        kinds = {"project": "projects", "milestone": "milestones", "tag": "tags", "testRun": "testRuns"}
        model = kinds.get(body.get("type"))
        if model is None or not body.get("name"):
            return JSONResponse({"error": "type and name are required"}, status_code=400)
        with self.lock:
            for row in self.db.tables[model].values():
                same_project = model in ("projects", "tags") or row.get("projectId") == body.get("projectId")
                if row["name"] == body["name"] and same_project and not row.get("isDeleted"):
                    return JSONResponse({"id": row["id"], "name": row["name"]})
        return JSONResponse({"error": f"{body['type']} not found: {body['name']}"}, status_code=404)


async def _session_only(request: Request) -> Response:
    return JSONResponse({"error": "Unauthorized"}, status_code=401)


def _error(status: int, error: dict[str, Any]) -> Response:
    return JSONResponse({"error": error}, status_code=status)


def _data(status: int, data: Any) -> Response:
    """``{"data", "meta"}`` as superjson writes it: dates as ISO strings, their paths listed in meta."""
    dates: dict[str, list[str]] = {}
    payload = _plain(data, "", dates)
    body: dict[str, Any] = {"data": payload}
    if dates:
        body["meta"] = {"serialization": {"values": dates}}
    return Response(json.dumps(body, separators=(",", ":")), status_code=status, media_type="application/json")


def _plain(value: Any, path: str, dates: dict[str, list[str]]) -> Any:
    if isinstance(value, datetime):
        dates[path] = ["Date"]
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, dict):
        return {k: _plain(v, f"{path}.{k}" if path else k, dates) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, f"{path}.{i}" if path else str(i), dates) for i, v in enumerate(value)]
    return value
