"""TestPlanIt template case fields <-> normalized case fields. Pure functions (no HTTP), tested on their own.

Every case has one template; the template lists case fields (global definitions); a case's value for a field
is a ``caseFieldValues`` row. The server checks no value (FIELDS-NOTES: wrong types, unknown option ids and
missing required values are all stored), so everything the UI's form would refuse is refused here, as a
cannot-represent entry naming the case and the field, before anything is written.

Mapping decisions:

- description, preconditions, priority and type go to the template field of that name (system name or
  display name, any case) unless ``[systems.<name>.case_fields]`` names another; every other value field of
  the template is a custom field keyed by its system name (``Case.custom["component"]``).
- values as the UI writes them: Text Long is the editor's TipTap document as a JSON string, Text String and
  Link plain strings, Dropdown the option id, Multi-Select a list of option ids (names are mapped through the
  field's own options, any case), Integer/Number JSON numbers, Checkbox a boolean, Date an ISO time at
  midnight UTC (read back as ``YYYY-MM-DD``).
- priority and type are option *names* mapped through the value maps (``[priority]``/``[type]``).
- min/max of Integer and Number fields, links and required fields are checked the way the UI's form does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlparse

from adapters.testplanit import richtext
from adapters.testplanit.settings import TEMPLATE_CASE_FIELDS
from bridge.errors import ConfigError, Unrepresentable
from bridge.model import Case, CaseType, Priority
from mappings.valuemaps import ValueMaps

STANDARD = TEMPLATE_CASE_FIELDS
#: normalized fields whose values are option names mapped through the value map of the same name
ENUMERATED = {"priority": Priority, "type": CaseType}
TEXT_LONG, TEXT_STRING, LINK, DROPDOWN, MULTI_SELECT = "Text Long", "Text String", "Link", "Dropdown", "Multi-Select"
INTEGER, NUMBER, CHECKBOX, DATE, STEPS = "Integer", "Number", "Checkbox", "Date", "Steps"
KINDS = frozenset({TEXT_LONG, TEXT_STRING, LINK, DROPDOWN, MULTI_SELECT, INTEGER, NUMBER, CHECKBOX, DATE})
#: which field kinds can hold each standard field
STANDARD_KINDS = {
    "description": {TEXT_LONG, TEXT_STRING},
    "preconditions": {TEXT_LONG, TEXT_STRING},
    "priority": {DROPDOWN, TEXT_STRING},
    "type": {DROPDOWN, TEXT_STRING},
}


@dataclass(frozen=True)
class Option:
    id: int
    name: str
    order: int
    is_default: bool
    usable: bool  # enabled and not deleted: offered by the UI's form


@dataclass(frozen=True)
class FieldDef:
    id: int
    display: str
    system: str
    kind: str
    required: bool = False
    default_value: str | None = None
    is_checked: bool | None = None
    min_value: float | None = None
    max_value: float | None = None
    options: tuple[Option, ...] = ()

    def option_named(self, name: str) -> Option | None:
        wanted = name.strip().casefold()
        return next((o for o in self.options if o.usable and o.name.strip().casefold() == wanted), None)

    def option_name(self, option_id: Any) -> str | None:
        return next((o.name for o in self.options if o.id == option_id), None)

    def choices(self) -> str:
        return ", ".join(o.name for o in self.options if o.usable) or "none"


@dataclass(frozen=True)
class Template:
    id: int
    name: str
    is_default: bool
    fields: tuple[FieldDef, ...]  # value fields in the template's order (Steps only marks where steps go)


def field_from_native(row: Mapping[str, Any]) -> FieldDef | None:
    """A ``caseFields`` row read with ``include: {type, fieldOptions: {include: {fieldOption}}}``; None for
    fields that hold no value (Steps), are switched off, deleted, or of a kind this version does not know."""
    kind = str((row.get("type") or {}).get("type") or "")
    if kind not in KINDS or not row.get("isEnabled", True) or row.get("isDeleted"):
        return None
    options = []
    for link in row.get("fieldOptions") or []:
        opt = link.get("fieldOption") or {}
        if "id" in opt:
            usable = bool(opt.get("isEnabled", True)) and not opt.get("isDeleted")
            options.append(
                Option(opt["id"], str(opt["name"]), int(opt.get("order") or 0), bool(opt.get("isDefault")), usable)
            )
    return FieldDef(
        id=int(row["id"]),
        display=str(row["displayName"]),
        system=str(row["systemName"]),
        kind=kind,
        required=bool(row.get("isRequired")),
        default_value=row.get("defaultValue"),
        is_checked=row.get("isChecked"),
        min_value=row.get("minValue"),
        max_value=row.get("maxValue"),
        options=tuple(sorted(options, key=lambda o: (o.order, o.id))),
    )


def template_from_native(row: Mapping[str, Any]) -> Template:
    """A ``templates`` row read with ``include: {caseFields: {include: {caseField: ...}, orderBy: order}}``."""
    found = [field_from_native(a.get("caseField") or {}) for a in row.get("caseFields") or []]
    return Template(int(row["id"]), str(row["templateName"]), bool(row.get("isDefault")), tuple(f for f in found if f))


@dataclass(frozen=True)
class FieldMap:
    """A template's fields in normalized terms."""

    template: Template
    standard: Mapping[str, FieldDef]  # normalized name -> field
    custom: Mapping[str, FieldDef] = field(default_factory=dict)  # system name -> field

    @classmethod
    def build(cls, template: Template, overrides: Mapping[str, str] | None = None, *, source: str = "") -> FieldMap:
        """``overrides``: normalized name -> field system or display name (the config's ``case_fields``)."""
        overrides = overrides or {}

        def named(name: str) -> FieldDef | None:
            wanted = name.strip().casefold()
            return next(
                (f for f in template.fields if wanted in (f.system.casefold(), f.display.strip().casefold())), None
            )

        standard: dict[str, FieldDef] = {}
        for name in STANDARD:
            found = named(overrides.get(name, name))
            if found is None and name in overrides:
                raise ConfigError(
                    f"{source}case_fields.{name} = {overrides[name]!r}: template {template.name!r} has no such field "
                    f"(its fields: {', '.join(f.display for f in template.fields) or 'none'})"
                )
            if found is not None and found.kind in STANDARD_KINDS[name]:
                standard[name] = found
            elif found is not None and name in overrides:
                raise ConfigError(
                    f"{source}case_fields.{name} = {overrides[name]!r} is a {found.kind} field; {name} needs one of "
                    f"{', '.join(sorted(STANDARD_KINDS[name]))}"
                )
        taken = {f.id for f in standard.values()}
        custom = {f.system: f for f in template.fields if f.id not in taken}
        return cls(template, standard, custom)

    def by_id(self) -> dict[int, tuple[str, FieldDef]]:
        """field id -> (normalized key: a standard name or ``custom.<system name>``, field)."""
        out = {f.id: (name, f) for name, f in self.standard.items()}
        out.update({f.id: (f"custom.{system}", f) for system, f in self.custom.items()})
        return out


# -------------------------------------------------------------------------------------------------- reading
def value_from_native(f: FieldDef, raw: Any) -> Any:
    """A stored value as a normalized custom value (what does not fit its kind is passed on as it is)."""
    if raw is None:
        return None
    if f.kind == TEXT_LONG:
        return richtext.to_canonical(raw) or None
    if f.kind == DROPDOWN:
        return f.option_name(raw) if isinstance(raw, int) and not isinstance(raw, bool) else _plain(raw)
    if f.kind == MULTI_SELECT and isinstance(raw, list):
        names = {f.option_name(i) for i in raw}
        return [o.name for o in f.options if o.name in names] or None
    if f.kind == DATE and isinstance(raw, str):
        return _read_date(raw)
    return _plain(raw)


def _plain(raw: Any) -> Any:
    if isinstance(raw, (str, int, float, bool)):
        return raw
    if isinstance(raw, list) and all(isinstance(v, str) for v in raw):
        return raw
    return json.dumps(raw)


def _read_date(raw: str) -> str:
    try:
        stamp = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return raw
    stamp = stamp.astimezone(UTC) if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    if (stamp.hour, stamp.minute, stamp.second, stamp.microsecond) == (0, 0, 0, 0):
        return stamp.date().isoformat()
    return _iso(stamp)


def _iso(stamp: datetime) -> str:
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def first_rows(rows: Iterable[Mapping[str, Any]]) -> dict[int, Mapping[str, Any]]:
    """A case's value row per field: the lowest id (the server allows two rows for one field; the UI, and
    so the bridge, reads and updates the first)."""
    out: dict[int, Mapping[str, Any]] = {}
    for row in sorted(rows, key=lambda r: r["id"]):
        out.setdefault(int(row["fieldId"]), row)
    return out


def read_case_values(fmap: FieldMap, rows: Iterable[Mapping[str, Any]], maps: ValueMaps) -> dict[str, Any]:
    """The normalized ``description``/``preconditions``/``priority``/``type``/``custom`` of a case's rows."""
    values: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    index = fmap.by_id()
    for field_id, row in first_rows(rows).items():
        if field_id not in index:
            continue  # a value for a field outside the case's template: the UI does not show it either
        key, f = index[field_id]
        value = value_from_native(f, row.get("value"))
        if key.startswith("custom."):
            if value is not None:
                custom[key[len("custom.") :]] = value
        elif key in ENUMERATED:
            normal = maps.normal(key, value) if isinstance(value, str) else None
            values[key] = ENUMERATED[key](normal) if normal else None
        else:
            values[key] = value if isinstance(value, str) else "" if value is None else str(value)
    values["custom"] = custom
    return values


def same_value(key: str, f: FieldDef, stored: Any, wanted: Any, maps: ValueMaps) -> bool:
    """Whether writing ``wanted`` over ``stored`` changes nothing a person would see. Priority and type compare
    as normalized values: an option the value map does not know reads as None, and writing None over it would
    erase a value the bridge never read."""
    shown, new = value_from_native(f, stored), value_from_native(f, wanted)
    if key in ENUMERATED:
        return (maps.normal(key, shown) if isinstance(shown, str) else None) == (
            maps.normal(key, new) if isinstance(new, str) else None
        )
    return bool(shown == new)


# -------------------------------------------------------------------------------------------------- writing
def native_value(f: FieldDef, value: Any) -> tuple[Any, str | None]:
    """(the value as the UI stores it, None) or (None, why it does not fit the field). Empty -> (None, None)."""
    if value is None or value == "" or value == []:
        return None, None
    kind = f.kind
    if kind in (TEXT_LONG, TEXT_STRING, LINK, DATE, DROPDOWN) and not isinstance(value, str):
        return None, f"a {kind} field takes text, not {type(value).__name__}"
    if kind == TEXT_LONG:
        return richtext.to_json_string(value), None
    if kind == TEXT_STRING:
        return value, None
    if kind == LINK:
        parsed = urlparse(value.strip())
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            return None, f"{value!r} is not a link (http or https URL)"
        return value.strip(), None
    if kind == DROPDOWN:
        option = f.option_named(value)
        if option is None:
            return None, f"no option {value!r} (options: {f.choices()})"
        return option.id, None
    if kind == MULTI_SELECT:
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            return None, "a Multi-Select field takes a list of option names"
        chosen = {}
        for name in names:
            option = f.option_named(name)
            if option is None:
                return None, f"no option {name!r} (options: {f.choices()})"
            chosen[option.id] = option
        return [o.id for o in f.options if o.id in chosen], None
    if kind in (INTEGER, NUMBER):
        return _number(f, value)
    if kind == CHECKBOX:
        if not isinstance(value, bool):
            return None, f"a Checkbox field takes true or false, not {value!r}"
        return value, None
    if kind == DATE:
        return _date(value)
    return None, f"the bridge cannot write {kind} fields"


def _number(f: FieldDef, value: Any) -> tuple[Any, str | None]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, f"an {f.kind} field takes a number, not {value!r}"
    if f.kind == INTEGER:
        if isinstance(value, float) and not value.is_integer():
            return None, f"an Integer field takes a whole number, not {value!r}"
        value = int(value)
    if f.min_value is not None and value < f.min_value:
        return None, f"{value} is below the field's minimum {f.min_value:g}"
    if f.max_value is not None and value > f.max_value:
        return None, f"{value} is above the field's maximum {f.max_value:g}"
    return value, None


def _date(value: str) -> tuple[Any, str | None]:
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return _iso(datetime(day.year, day.month, day.day, tzinfo=UTC)), None
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None, f"{value!r} is not a date (YYYY-MM-DD or an ISO time)"
    stamp = stamp.astimezone(UTC) if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    return _iso(stamp), None


def default_value(f: FieldDef) -> Any:
    """What the UI's form pre-fills for an empty field (None when it pre-fills nothing)."""
    if f.kind == DROPDOWN:
        option = next((o for o in f.options if o.usable and o.is_default), None)
        return option.id if option else None
    if f.kind == CHECKBOX:
        return f.is_checked
    if f.kind in (TEXT_STRING, TEXT_LONG) and f.default_value:
        return f.default_value if f.kind == TEXT_STRING else richtext.to_json_string(f.default_value)
    return None


def wanted_values(
    fmap: FieldMap, case: Case, maps: ValueMaps, ref: str
) -> tuple[dict[int, Any], list[Unrepresentable]]:
    """field id -> native value (None: empty) for the standard fields and the custom values of ``case``.

    A custom key with no field in the template is a problem, like a value that does not fit its field.
    """
    out: dict[int, Any] = {}
    problems: list[Unrepresentable] = []

    def put(f: FieldDef, label: str, value: Any) -> None:
        native, why = native_value(f, value)
        if why:
            problems.append(
                Unrepresentable("case", ref, label, f"{fmap.template.name} field {f.display!r}: {why}", value)
            )
        else:
            out[f.id] = native

    for name, f in fmap.standard.items():
        value = getattr(case, name)
        if name in ENUMERATED and value is not None:
            native_name = maps.native(name, value.value)
            if native_name is None:
                problems.append(
                    Unrepresentable(
                        "case", ref, name, f"{value.value!r} has no TestPlanIt {name} in the value map", value
                    )
                )
                continue
            value = native_name
        put(f, name, value)
    for key in case.custom:
        custom_field = fmap.custom.get(key)
        value = case.custom.get(key)
        if custom_field is None:
            if value not in (None, "", []):
                known = ", ".join(sorted(fmap.custom)) or "none"
                problems.append(
                    Unrepresentable(
                        "case",
                        ref,
                        f"custom.{key}",
                        f"template {fmap.template.name!r} has no field with system name {key!r} (its fields: {known})",
                        value,
                    )
                )
            continue
        put(custom_field, f"custom.{key}", value)
    return out, problems


def missing_required(
    fmap: FieldMap, values: Mapping[int, Any], ref: str, *, stored: Mapping[int, Any] | None = None
) -> tuple[dict[int, Any], list[Unrepresentable]]:
    """Defaults for empty required fields (as the UI's form pre-fills them) and the required fields still
    empty. ``stored``: field id -> value the case holds now (a field not being written keeps it)."""
    defaults: dict[int, Any] = {}
    problems: list[Unrepresentable] = []
    keys = {f.id: name for name, f in fmap.standard.items()} | {f.id: f"custom.{s}" for s, f in fmap.custom.items()}
    for f in fmap.template.fields:
        if not f.required or f.id not in keys:
            continue
        value = values[f.id] if f.id in values else (stored or {}).get(f.id)
        if value is not None and value != []:
            continue
        default = default_value(f)
        if default is not None:
            defaults[f.id] = default
        else:
            why = f"template {fmap.template.name!r} requires {f.display!r} and it has no default"
            problems.append(Unrepresentable("case", ref, keys[f.id], why))
    return defaults, problems
