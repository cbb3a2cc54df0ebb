"""Request arguments checked against the real server's own input schemas, as its Prisma client checks them.

``zenstack-inputs.json`` is the part of TestPlanIt 0.11.13's ZenStack OpenAPI description that the simulated
models reach (built by ``tests/fixtures/testplanit/make_simulator_schema.py``). An enum value outside the
schema, a ``where`` filter of the wrong type or a nested write of the wrong shape is refused with the answer
Prisma gives: 400 ``{"error": {"prisma": true, "message": "Invalid `prisma.<model>.<op>()` invocation ..."}}``.
Unknown argument names are left to the database (the schema allows extra keys, Prisma does not).
"""

from __future__ import annotations

import json
import threading
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from adapters.testplanit.simdb import invalid


@cache
def _document() -> dict[str, Any]:
    text = resources.files("adapters.testplanit").joinpath("zenstack-inputs.json").read_text("utf-8")
    return dict(json.loads(text))


_lock = threading.Lock()
_validators: dict[str, Any] = {}


def _validator(model: str, op: str) -> Any:
    doc = _document()
    root = doc["roots"].get(f"{model}.{op}")
    if root is None:
        return None
    with _lock:
        found = _validators.get(root)
        if found is None:
            schema = {"$ref": f"#/components/schemas/{root}", "components": doc["components"]}
            found = _validators[root] = jsonschema.Draft202012Validator(schema)
        return found


def check_arguments(model: str, op: str, args: dict[str, Any]) -> None:
    """Raise the server's 400 PrismaError when ``args`` do not fit the operation's input schema."""
    validator = _validator(model, op)
    if validator is None or validator.is_valid(args):
        return
    error = best_match(validator.iter_errors(args))
    assert error is not None
    path = [str(p) for p in error.absolute_path if not isinstance(p, int)]
    where = f"Argument `{path[-1]}`" if path else "Arguments"
    shown = json.dumps(error.instance)[:80]
    raise invalid(
        model,
        op,
        f"{where}: Invalid value provided at `{'.'.join(path) or '(root)'}`: {shown} ({error.message[:200]}).",
    )
