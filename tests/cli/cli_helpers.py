"""Running the CLI in-process (exit code, stdout, stderr) and as a user's subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from e2e_harness import KIND_OF, World

from bridge.cli import main

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "docs" / "schemas"


def write_config(w: World, path: Path, *jobs: dict[str, str]) -> Path:
    lines = [f"[store]\nurl = {json.dumps(w.store_url)}\n"]
    for name, sim in w.sims.items():
        lines.append(f"[systems.{name}]\nkind = {json.dumps(KIND_OF[name])}\nurl = {json.dumps(w.urls[name])}")
        lines += [f"{k} = {json.dumps(v)}" for k, v in sim.credentials().items()]
    for job in jobs:
        lines.append("[[jobs]]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in job.items()))
    path.write_text("\n".join(lines) + "\n")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out = capsys.readouterr()
    return int(exit_info.value.code or 0), out.out, out.err


def run_json(capsys: pytest.CaptureFixture[str], schema: str, *argv: str) -> tuple[int, dict[str, Any]]:
    """Run a command with -o json: stdout must be one JSON document valid against docs/schemas/<schema>."""
    code, out, _err = run(capsys, *argv)
    document = json.loads(out)
    validate(schema, document)
    return code, document


def validate(schema: str, document: Any) -> None:
    spec = json.loads((SCHEMAS / f"{schema}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(spec)
    jsonschema.Draft202012Validator(spec).validate(document)


def bridge_process(*argv: str, env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bridge", *argv], cwd=REPO, env=full_env, text=True, timeout=120, **kwargs
    )
