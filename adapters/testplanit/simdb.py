"""An in-memory database answering Prisma query arguments the way the real TestPlanIt server's Prisma does.

Covers what the adapter and the recorded transcript use: ``where`` (equality, null, in/notIn, lt/lte/gt/gte,
contains/startsWith/endsWith with ``mode: insensitive``, not, AND/OR/NOT, relation filters is/isNot/some/
every/none), ``select``/``include`` (nested, with ``_count``), ``orderBy`` (Postgres order: NULLs last on asc),
``take``/``skip``/``cursor``, nested writes (create, createMany, connect, connectOrCreate, disconnect, set,
update, updateMany, delete, deleteMany), atomic increments, unique keys with Postgres NULL semantics, and ids
taken from a sequence that a failed insert still consumes (as Postgres does).

Errors are :class:`PrismaError` carrying the status and body the real server sends.
"""

from __future__ import annotations

import itertools
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.testplanit.simschema import AUTH, MODELS, NOW, Relation

Row = dict[str, Any]


class PrismaError(Exception):
    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.status = status
        self.error = error


def invalid(model: str, op: str, detail: str) -> PrismaError:
    """A Prisma validation error (400), worded like the client engine's."""
    message = f"\nInvalid `prisma.{model}.{op}()` invocation:\n\n\n{detail}"
    return PrismaError(400, {"prisma": True, "message": message})


def unique_failed(model: str, op: str, fields: tuple[str, ...]) -> PrismaError:
    quoted = ", ".join(f'`"{f}"`' if f != f.lower() else f"`{f}`" for f in fields)
    message = f"\nInvalid `prisma.{model}.{op}()` invocation:\n\n\nUnique constraint failed on the fields: ({quoted})"
    return PrismaError(400, {"message": message, "prisma": True, "code": "P2002"})


def not_found(model: str) -> PrismaError:
    return PrismaError(404, {"message": f"entity not found for model {model}", "prisma": True, "code": "P2025"})


def connect_missing(model: str, target: str, relation: str) -> PrismaError:
    message = (
        f"\nInvalid `prisma.{model}` invocation:\n\n\nAn operation failed because it depends on one or more records "
        f"that were required but not found. No '{MODELS[target].prisma}' record was found for a nested connect on "
        f"relation '{relation}'."
    )
    return PrismaError(404, {"message": message, "prisma": True, "code": "P2025"})


def parse_date(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def jsonb(value: Any) -> Any:
    """Postgres jsonb stores object keys sorted by length, then bytes; answers come back in that order."""
    if isinstance(value, dict):
        return {k: jsonb(value[k]) for k in sorted(value, key=lambda k: (len(k.encode()), k.encode()))}
    if isinstance(value, list):
        return [jsonb(v) for v in value]
    return value


def cuid() -> str:
    return "c" + secrets.token_hex(12)[:24]


class Database:
    """Tables of rows, foreign-key indexes, many-to-many link tables and id sequences."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.tables: dict[str, dict[Any, Row]] = {name: {} for name in MODELS}
        self.sequences: dict[str, itertools.count[int]] = {name: itertools.count(1) for name in MODELS}
        # (model, fk field) -> fk value -> ids: includes and relation filters stay O(children), not O(table)
        self.fk_index: dict[tuple[str, str], dict[Any, set[Any]]] = defaultdict(lambda: defaultdict(set))
        # (model, unique key) -> values -> ids: unique checks and find_unique stay O(1) as with Postgres' unique
        # indexes (a scan per insert made a 10,000-case import quadratic in the simulator, not in the client)
        self.unique_index: dict[tuple[str, tuple[str, ...]], dict[tuple[Any, ...], set[Any]]] = defaultdict(
            lambda: defaultdict(set)
        )
        # join table -> (left ids -> right ids, right ids -> left ids); left is the alphabetically first model
        self.links: dict[str, tuple[dict[Any, set[Any]], dict[Any, set[Any]]]] = {}
        self.clock = clock or (lambda: datetime.now(UTC))
        self._undo: list[Callable[[], None]] | None = None
        self._last_now: datetime | None = None

    # ------------------------------------------------------------------------------------------ basics
    def now(self) -> datetime:
        """Millisecond timestamps that never repeat (Postgres timestamp(3) as the server stores them)."""
        now = self.clock()
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if self._last_now is not None and now <= self._last_now:
            now = self._last_now + timedelta(milliseconds=1)
        self._last_now = now
        return now

    def set_next_id(self, model: str, next_id: int) -> None:
        self.sequences[model] = itertools.count(next_id)

    def _fk_fields(self, model: str) -> list[str]:
        return [r.key for r in MODELS[model].relations.values() if r.kind == "one"]

    def _index_add(self, model: str, row: Row) -> None:
        for fk in self._fk_fields(model):
            self.fk_index[(model, fk)][row.get(fk)].add(row["id"])
        for key in MODELS[model].uniques:
            self.unique_index[(model, key)][tuple(row.get(f) for f in key)].add(row["id"])

    def _index_remove(self, model: str, row: Row) -> None:
        for fk in self._fk_fields(model):
            self.fk_index[(model, fk)][row.get(fk)].discard(row["id"])
        for key in MODELS[model].uniques:
            self.unique_index[(model, key)][tuple(row.get(f) for f in key)].discard(row["id"])

    def _link_maps(self, rel: Relation, model: str) -> tuple[dict[Any, set[Any]], dict[Any, set[Any]]]:
        if rel.key not in self.links:
            self.links[rel.key] = (defaultdict(set), defaultdict(set))
        left, right = self.links[rel.key]
        return (left, right) if model <= rel.target else (right, left)

    def linked(self, model: str, rel: Relation, row_id: Any) -> set[Any]:
        return self._link_maps(rel, model)[0].get(row_id, set())

    def link(self, model: str, rel: Relation, a: Any, b: Any) -> None:
        mine, theirs = self._link_maps(rel, model)
        if b in mine[a]:
            return
        mine[a].add(b)
        theirs[b].add(a)

        def undo() -> None:
            mine[a].discard(b)
            theirs[b].discard(a)

        self._record(undo)

    def unlink(self, model: str, rel: Relation, a: Any, b: Any) -> None:
        mine, theirs = self._link_maps(rel, model)
        if b not in mine[a]:
            return
        mine[a].discard(b)
        theirs[b].discard(a)

        def undo() -> None:
            mine[a].add(b)
            theirs[b].add(a)

        self._record(undo)

    def _record(self, undo: Callable[[], Any]) -> None:
        if self._undo is not None:
            self._undo.append(undo)  # type: ignore[arg-type]

    def transaction(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` atomically: on error every change is undone (ids stay consumed, as in Postgres)."""
        if self._undo is not None:
            return fn()
        self._undo = []
        try:
            return fn()
        except BaseException:
            for undo in reversed(self._undo):
                undo()
            raise
        finally:
            self._undo = None

    # -------------------------------------------------------------------------------------- raw writes
    def insert(self, model: str, values: Row, *, auth: str | None = None, op: str = "create") -> Row:
        """Insert with defaults, type checks and unique keys; returns the stored row."""
        mdef = MODELS[model]
        row: Row = {}
        for name, fdef in mdef.fields.items():
            if name == "id":
                continue
            if name in values:
                row[name] = self._coerce(model, op, name, values[name])
            elif fdef.default == NOW:
                row[name] = self.now()
            elif fdef.default == AUTH:
                if auth is None:
                    raise invalid(model, op, f"Argument `{name}` is missing.")
                row[name] = auth
            elif fdef.has_default:
                row[name] = fdef.default
            else:
                missing = next((r.name for r in mdef.relations.values() if r.kind == "one" and r.key == name), name)
                raise invalid(model, op, f"Argument `{missing}` is missing.")
        if "id" in values and values["id"] is not None:
            row_id = values["id"]
        else:
            row_id = cuid() if mdef.id_kind == "cuid" else next(self.sequences[model])
        row = {"id": row_id, **row}
        self._check_unique(model, op, row, None)
        self.tables[model][row_id] = row
        self._index_add(model, row)

        def undo() -> None:
            self.tables[model].pop(row_id, None)
            self._index_remove(model, row)

        self._record(undo)
        return row

    def patch(self, model: str, row: Row, changes: Row, *, op: str = "update") -> None:
        if not changes:
            return
        before = dict(row)
        new = dict(row)
        for name, value in changes.items():
            new[name] = value
        self._check_unique(model, op, new, row["id"])
        self._index_remove(model, row)
        row.update(new)
        self._index_add(model, row)

        def undo() -> None:
            self._index_remove(model, row)
            row.clear()
            row.update(before)
            self._index_add(model, row)

        self._record(undo)

    def remove(self, model: str, row: Row) -> None:
        self.tables[model].pop(row["id"], None)
        self._index_remove(model, row)

        def undo() -> None:
            self.tables[model][row["id"]] = row
            self._index_add(model, row)

        self._record(undo)

    def _check_unique(self, model: str, op: str, row: Row, self_id: Any) -> None:
        for key in MODELS[model].uniques:
            values = tuple(row.get(f) for f in key)
            if any(v is None for v in values):
                continue  # Postgres: NULLs are distinct, so a key holding one never collides
            if self.unique_index[(model, key)].get(values, set()) - {self_id}:
                raise unique_failed(model, op, key)

    def _coerce(self, model: str, op: str, name: str, value: Any) -> Any:
        fdef = MODELS[model].fields[name]
        if value is None:
            # a plain null in a nullable Json column is stored as JSON null and read back as null (the real server,
            # caseFieldValues.value); either way the answer shows null
            if not fdef.nullable:
                raise invalid(model, op, f"Argument `{name}` must not be null.")
            return None
        kind = fdef.kind
        ok = {
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, (int, float)) and not isinstance(value, bool),
            "str": isinstance(value, str),
            "enum": isinstance(value, str),
            "bool": isinstance(value, bool),
            "json": True,
            "date": parse_date(value) is not None,
        }[kind]
        if not ok:
            expected = {"int": "Int", "float": "Float", "str": "String", "enum": "enum", "bool": "Boolean"}.get(
                kind, "DateTime"
            )
            raise invalid(
                model,
                op,
                f"Argument `{name}`: Invalid value provided. Expected {expected}, provided {type(value).__name__}.",
            )
        if kind == "date":
            return parse_date(value)
        if kind == "json":
            return jsonb(value)
        return value

    # ------------------------------------------------------------------------------------------- reads
    def matches(self, model: str, row: Row, where: dict[str, Any] | None, op: str) -> bool:
        if not where:
            return True
        if not isinstance(where, dict):
            raise invalid(model, op, "Argument `where`: Invalid value provided. Expected object.")
        mdef = MODELS[model]
        for key, cond in where.items():
            if key == "AND":
                items = cond if isinstance(cond, list) else [cond]
                if not all(self.matches(model, row, c, op) for c in items):
                    return False
            elif key == "OR":
                if not any(self.matches(model, row, c, op) for c in cond):
                    return False
            elif key == "NOT":
                items = cond if isinstance(cond, list) else [cond]
                if any(self.matches(model, row, c, op) for c in items):
                    return False
            elif key in mdef.fields:
                if not self._scalar_matches(model, key, row.get(key), cond, op):
                    return False
            elif key in mdef.relations:
                if not self._relation_matches(model, mdef.relations[key], row, cond, op):
                    return False
            elif "_" in key and all(p in mdef.fields for p in key.split("_")) and isinstance(cond, dict):
                if not all(row.get(k) == v for k, v in cond.items()):
                    return False
            else:
                raise invalid(model, op, f"Unknown argument `{key}`. Available options are marked with ?.")
        return True

    def _scalar_matches(self, model: str, name: str, value: Any, cond: Any, op: str) -> bool:
        kind = MODELS[model].fields[name].kind
        if not isinstance(cond, dict) or kind == "json" and not set(cond) & {"equals", "not"}:
            return _eq(value, cond, kind)
        insensitive = cond.get("mode") == "insensitive"
        for fop, arg in cond.items():
            if fop == "mode":
                continue
            a, b = (_fold(value, insensitive), _fold(arg, insensitive))
            if fop == "equals":
                ok = _eq(a, b, kind)
            elif fop == "not":
                ok = (
                    not self._scalar_matches(model, name, value, arg, op)
                    if isinstance(arg, dict)
                    else not _eq(a, b, kind)
                )
            elif fop == "in":
                ok = any(_eq(a, _fold(x, insensitive), kind) for x in arg)
            elif fop == "notIn":
                ok = not any(_eq(a, _fold(x, insensitive), kind) for x in arg)
            elif fop in ("lt", "lte", "gt", "gte"):
                if kind == "date":
                    a, b = value, parse_date(arg)
                if a is None or b is None:
                    ok = False
                else:
                    ok = {"lt": a < b, "lte": a <= b, "gt": a > b, "gte": a >= b}[fop]
            elif fop in ("contains", "startsWith", "endsWith"):
                if not isinstance(a, str):
                    ok = False
                else:
                    ok = {"contains": b in a, "startsWith": a.startswith(b), "endsWith": a.endswith(b)}[fop]
            else:
                raise invalid(model, op, f"Unknown argument `{fop}`. Available options are marked with ?.")
            if not ok:
                return False
        return True

    def _relation_matches(self, model: str, rel: Relation, row: Row, cond: Any, op: str) -> bool:
        if rel.kind == "one":
            target_id = row.get(rel.key)
            if cond is None:
                return target_id is None
            if "is" in cond or "isNot" in cond:
                if "is" in cond:
                    sub = cond["is"]
                    if sub is None:
                        return target_id is None
                    other = self.tables[rel.target].get(target_id)
                    return other is not None and self.matches(rel.target, other, sub, op)
                sub = cond["isNot"]
                if sub is None:
                    return target_id is not None
                other = self.tables[rel.target].get(target_id)
                return other is None or not self.matches(rel.target, other, sub, op)
            other = self.tables[rel.target].get(target_id)
            return other is not None and self.matches(rel.target, other, cond, op)
        children = self.related_rows(model, rel, row)
        for fop, sub in cond.items():
            if fop == "some":
                ok = any(self.matches(rel.target, c, sub, op) for c in children)
            elif fop == "every":
                ok = all(self.matches(rel.target, c, sub, op) for c in children)
            elif fop == "none":
                ok = not any(self.matches(rel.target, c, sub, op) for c in children)
            else:
                raise invalid(model, op, f"Unknown argument `{fop}`. Available options are marked with ?.")
            if not ok:
                return False
        return True

    def related_rows(self, model: str, rel: Relation, row: Row) -> list[Row]:
        table = self.tables[rel.target]
        if rel.kind == "many":
            ids = self.fk_index[(rel.target, rel.key)].get(row["id"], set())
        elif rel.kind == "m2m":
            ids = self.linked(model, rel, row["id"])
        else:
            other = table.get(row.get(rel.key))
            return [other] if other else []
        return [table[i] for i in sorted(ids, key=str) if i in table]

    def find(self, model: str, args: dict[str, Any], op: str, rows: Iterable[Row] | None = None) -> list[Row]:
        """findMany semantics: filter, order, cursor, skip, take (no projection)."""
        known = {"where", "select", "include", "orderBy", "take", "skip", "cursor", "distinct"}
        for key in args:
            if key not in known:
                raise invalid(model, op, f"Unknown argument `{key}`. Available options are marked with ?.")
        where = args.get("where")
        source = rows if rows is not None else self._prefilter(model, where)
        found = [r for r in source if self.matches(model, r, where, op)]
        order = args.get("orderBy")
        keys = order if isinstance(order, list) else [order] if order else []
        found.sort(key=lambda r: _sort_key(r["id"]))  # by id unless ordered otherwise (composite ids: internal)
        for spec in reversed(keys):
            for name, direction in reversed(list(spec.items())):
                if name not in MODELS[model].fields:
                    raise invalid(model, op, f"Unknown argument `{name}` in orderBy.")
                desc = (direction.get("sort") if isinstance(direction, dict) else direction) == "desc"
                present = [r for r in found if r.get(name) is not None]
                absent = [r for r in found if r.get(name) is None]
                present.sort(key=lambda r: _sort_key(r[name]), reverse=desc)
                # Postgres: NULLs sort as larger than every value (last on asc, first on desc)
                found = absent + present if desc else present + absent
        cursor = args.get("cursor")
        if cursor:
            start = next((i for i, r in enumerate(found) if all(r.get(k) == v for k, v in cursor.items())), None)
            found = [] if start is None else found[start:]
        skip = args.get("skip") or 0
        take = args.get("take")
        if skip:
            found = found[skip:]
        if take is not None:
            found = found[:take] if take >= 0 else found[take:]
        return found

    def _prefilter(self, model: str, where: dict[str, Any] | None) -> Iterable[Row]:
        """Use a foreign-key index when ``where`` pins one (the real server has these indexes too)."""
        table = self.tables[model]
        if isinstance(where, dict):
            if isinstance(where.get("id"), (int, str)):
                row = table.get(where["id"])
                return [row] if row else []
            for key in MODELS[model].uniques:
                pinned = where.get(key[0]) if len(key) == 1 else where.get("_".join(key))
                values = (
                    (pinned,)
                    if len(key) == 1
                    else tuple((pinned or {}).get(f) if isinstance(pinned, dict) else None for f in key)
                )
                if all(isinstance(v, (int, str)) for v in values):
                    return [
                        table[i] for i in sorted(self.unique_index[(model, key)].get(values, ()), key=str) if i in table
                    ]
            for fk in self._fk_fields(model):
                value = where.get(fk)
                if isinstance(value, (int, str)):
                    return [table[i] for i in sorted(self.fk_index[(model, fk)].get(value, ()), key=str) if i in table]
        return list(table.values())

    def find_unique(self, model: str, where: dict[str, Any], op: str) -> Row | None:
        mdef = MODELS[model]
        if not isinstance(where, dict) or not where:
            raise invalid(model, op, "Argument `where` is missing.")
        single = {"id"} | {k[0] for k in mdef.uniques if len(k) == 1}
        compound = {"_".join(k) for k in mdef.uniques}
        if not (set(where) & single or set(where) & compound):
            raise invalid(
                model,
                op,
                f"Argument `where` of type {mdef.prisma}WhereUniqueInput needs at least one of "
                f"{', '.join(f'`{k}`' for k in sorted(single | compound))} arguments.",
            )
        rows = self.find(model, {"where": where}, op)
        return rows[0] if rows else None

    # ------------------------------------------------------------------------------------- projection
    def shape(self, model: str, row: Row, args: dict[str, Any] | None, op: str) -> Row:
        args = args or {}
        select, include = args.get("select"), args.get("include")
        if select and include:
            raise invalid(model, op, "Please either use `include` or `select`, but not both at the same time.")
        mdef = MODELS[model]
        out: Row = {}
        if select:
            wanted = {k: v for k, v in select.items() if v}
        else:
            out = {name: row.get(name) for name in mdef.fields}
            wanted = {k: v for k, v in (include or {}).items() if v}
        for key, sub in wanted.items():
            if key in mdef.fields:
                out[key] = row.get(key)
            elif key in mdef.relations:
                rel = mdef.relations[key]
                sub_args = sub if isinstance(sub, dict) else {}
                if rel.kind == "one":
                    other = self.tables[rel.target].get(row.get(rel.key))
                    out[key] = self.shape(rel.target, other, sub_args, op) if other else None
                else:
                    children = self.find(rel.target, sub_args, op, self.related_rows(model, rel, row))
                    out[key] = [self.shape(rel.target, c, _projection(sub_args), op) for c in children]
            elif key == "_count":
                counted = (
                    sub.get("select", {})
                    if isinstance(sub, dict)
                    else {r.name: True for r in mdef.relations.values() if r.kind != "one"}
                )
                counts: Row = {}
                for name, spec in counted.items():
                    counted_rel = mdef.relations.get(name)
                    if counted_rel is None or counted_rel.kind == "one":
                        raise invalid(model, op, f"Unknown field `{name}` for select statement on model `_count`.")
                    rel = counted_rel
                    where = spec.get("where") if isinstance(spec, dict) else None
                    children = self.related_rows(model, rel, row)
                    counts[name] = sum(1 for c in children if self.matches(rel.target, c, where, op))
                out["_count"] = counts
            else:
                raise invalid(model, op, f"Unknown field `{key}` for select statement on model `{mdef.prisma}`.")
        return out

    # ------------------------------------------------------------------------------------------ writes
    def create(
        self, model: str, data: dict[str, Any], auth: str | None, op: str = "create", parent: Row | None = None
    ) -> Row:
        if not isinstance(data, dict):
            raise invalid(model, op, "Argument `data` is missing.")
        mdef = MODELS[model]
        scalars: Row = {}
        later: list[tuple[Relation, dict[str, Any]]] = []
        for key, value in data.items():
            if key in mdef.fields:
                scalars[key] = value
            elif key in mdef.relations:
                rel = mdef.relations[key]
                if rel.kind == "one":
                    scalars[rel.key] = self._resolve_one(model, rel, value, auth, op)
                else:
                    later.append((rel, value))
            else:
                raise invalid(model, op, f"Unknown argument `{key}`. Available options are marked with ?.")
        if parent is not None:
            scalars.update(parent)
        row = self.insert(model, scalars, auth=auth, op=op)
        for rel, value in later:
            self._write_many(model, rel, row, value, auth, op)
        return row

    def _resolve_one(self, model: str, rel: Relation, value: Any, auth: str | None, op: str) -> Any:
        if not isinstance(value, dict):
            raise invalid(model, op, f"Argument `{rel.name}`: Invalid value provided.")
        if "connect" in value:
            target = self.find_unique(rel.target, value["connect"], op)
            if target is None:
                raise connect_missing(model, rel.target, rel.name)
            return target["id"]
        if "create" in value:
            return self.create(rel.target, value["create"], auth, op)["id"]
        if "connectOrCreate" in value:
            spec = value["connectOrCreate"]
            target = self.find_unique(rel.target, spec.get("where", {}), op)
            return target["id"] if target else self.create(rel.target, spec.get("create", {}), auth, op)["id"]
        if "disconnect" in value and rel.nullable:
            return None
        raise invalid(model, op, f"Argument `{rel.name}`: Invalid value provided.")

    def _write_many(self, model: str, rel: Relation, row: Row, value: Any, auth: str | None, op: str) -> None:
        if not isinstance(value, dict):
            raise invalid(model, op, f"Argument `{rel.name}`: Invalid value provided.")
        fk_parent = {rel.key: row["id"]} if rel.kind == "many" else None
        for action, arg in value.items():
            items = arg if isinstance(arg, list) else [arg]
            if action == "create":
                # As the real server numbers them: items holding a relation write of their own (``field:
                # {connect}``, ``fieldOption: {create}``) are inserted last first, scalar-only items (steps) in
                # order (recorded: case field values and field options get descending ids, steps ascending)
                nested = any(
                    k in MODELS[rel.target].relations for item in items if isinstance(item, dict) for k in item
                )
                for item in reversed(items) if nested else items:
                    child = self.create(rel.target, item, auth, op, parent=fk_parent)
                    if rel.kind == "m2m":
                        self.link(model, rel, row["id"], child["id"])
            elif action == "createMany":
                for item in arg.get("data", []):
                    child = self.insert(rel.target, {**item, **(fk_parent or {})}, auth=auth, op=op)
                    if rel.kind == "m2m":
                        self.link(model, rel, row["id"], child["id"])
            elif action in ("connect", "connectOrCreate", "set"):
                if action == "set":
                    for child in self.related_rows(model, rel, row):
                        self._detach(model, rel, row, child, op)
                for item in items:
                    where = item.get("where", {}) if action == "connectOrCreate" else item
                    found = self.find_unique(rel.target, where, op)
                    if found is None and action == "connectOrCreate":
                        found = self.create(rel.target, item.get("create", {}), auth, op)
                    if found is None:
                        raise connect_missing(model, rel.target, rel.name)
                    child = found
                    if rel.kind == "m2m":
                        self.link(model, rel, row["id"], child["id"])
                    else:
                        self.patch(rel.target, child, {rel.key: row["id"]}, op=op)
            elif action == "disconnect":
                for item in items:
                    gone = self.find_unique(rel.target, item, op)
                    if gone is not None:
                        self._detach(model, rel, row, gone, op)
            elif action in ("update", "updateMany", "delete", "deleteMany"):
                children = self.related_rows(model, rel, row)
                for item in items:
                    where = item.get("where") if action in ("update", "updateMany") else item
                    hits = [c for c in children if self.matches(rel.target, c, where, op)]
                    if action in ("update", "delete") and not hits:
                        raise not_found(rel.target)
                    for child in hits:
                        if action.startswith("update"):
                            self.update_row(rel.target, child, item.get("data", {}), auth, op)
                        elif rel.kind == "m2m":
                            self.unlink(model, rel, row["id"], child["id"])
                            self.remove(rel.target, child)
                        else:
                            self.remove(rel.target, child)
            else:
                raise invalid(model, op, f"Unknown argument `{action}`. Available options are marked with ?.")

    def _detach(self, model: str, rel: Relation, row: Row, child: Row, op: str) -> None:
        if rel.kind == "m2m":
            self.unlink(model, rel, row["id"], child["id"])
            return
        if not MODELS[rel.target].fields[rel.key].nullable:
            raise invalid(
                model, op, f"The change you are trying to make would violate the required relation '{rel.name}'."
            )
        self.patch(rel.target, child, {rel.key: None}, op=op)

    def update_row(self, model: str, row: Row, data: dict[str, Any], auth: str | None, op: str) -> Row:
        if not isinstance(data, dict):
            raise invalid(model, op, "Argument `data` is missing.")
        mdef = MODELS[model]
        changes: Row = {}
        later: list[tuple[Relation, Any]] = []
        for key, value in data.items():
            if key in mdef.fields:
                if key == "id":
                    raise invalid(model, op, "Unknown argument `id`. Available options are marked with ?.")
                if isinstance(value, dict) and mdef.fields[key].kind != "json":
                    current = row.get(key)
                    for aop, arg in value.items():
                        if aop == "set":
                            current = arg
                        elif aop in ("increment", "decrement", "multiply", "divide") and current is not None:
                            current = {
                                "increment": lambda c, a: c + a,
                                "decrement": lambda c, a: c - a,
                                "multiply": lambda c, a: c * a,
                                "divide": lambda c, a: c // a if isinstance(c, int) else c / a,
                            }[aop](current, arg)
                        elif aop not in ("increment", "decrement", "multiply", "divide"):
                            raise invalid(model, op, f"Unknown argument `{aop}`. Available options are marked with ?.")
                    value = current
                changes[key] = self._coerce(model, op, key, value)
            elif key in mdef.relations:
                rel = mdef.relations[key]
                if rel.kind == "one":
                    changes[rel.key] = self._resolve_one(model, rel, value, auth, op)
                else:
                    later.append((rel, value))
            else:
                raise invalid(model, op, f"Unknown argument `{key}`. Available options are marked with ?.")
        self.patch(model, row, changes, op=op)
        for rel, value in later:
            self._write_many(model, rel, row, value, auth, op)
        return row


def _projection(args: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in args.items() if k in ("select", "include")}


def _fold(value: Any, insensitive: bool) -> Any:
    return value.lower() if insensitive and isinstance(value, str) else value


def _eq(a: Any, b: Any, kind: str) -> bool:
    if kind == "date":
        return a == parse_date(b) if b is not None else a is None
    return (
        bool(a == b)
        and type(a) is type(b)
        or (a is None and b is None)
        or (isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(b, bool) and a == b)
    )


def _sort_key(value: Any) -> Any:
    return value
