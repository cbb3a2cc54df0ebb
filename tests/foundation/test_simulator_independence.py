"""Simulators import nothing from the adapter, client, convert or signer of the system they serve.

A test through a simulator that shares the client's code (its message table, its time-span format, its
signature check) compares our code with itself. This walks every simulator module's imports (``ast``, so an
import inside a function counts too), follows the simulator-side modules it imports, and allows only the
simulation toolkit (``adapters.simulation*``), other simulator modules, the standard library and third-party
packages.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ADAPTERS = Path(__file__).resolve().parents[2] / "adapters"


def is_simulator_module(module: str) -> bool:
    """``adapters.<system>.simulator``, ``.cloud_sim``, ``.sim*`` and the toolkit ``adapters.simulation*``."""
    parts = module.split(".")
    if parts[0] != "adapters":
        return True  # not ours: standard library or third party
    if len(parts) == 2:
        return parts[1].startswith("simulation")
    return len(parts) == 3 and (parts[2] in ("simulator", "cloud_sim") or parts[2].startswith("sim"))


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            # "from adapters.codearts import signer" imports the module adapters.codearts.signer
            found |= {f"{node.module}.{alias.name}" for alias in node.names} if node.level == 0 else set()
            found.add(node.module)
    return {m for m in found if m.startswith("adapters")}


def module_path(module: str) -> Path | None:
    rel = Path(*module.split(".")[1:])
    for candidate in (ADAPTERS / rel.with_suffix(".py"), ADAPTERS / rel / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def forbidden_imports(start: Path) -> list[str]:
    """The adapter-side modules ``start`` reaches through simulator-side modules (``a -> b`` chains)."""
    bad: list[str] = []
    seen: set[Path] = set()
    todo = [(start, start.stem)]
    while todo:
        path, chain = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in sorted(imports_of(path)):
            target = module_path(module)
            if target is None:
                continue  # "from adapters.simulation import Faults" also names adapters.simulation.Faults
            if not is_simulator_module(module) and target.name != "__init__.py":
                bad.append(f"{chain} -> {module}")
            elif target.name != "__init__.py":
                todo.append((target, f"{chain} -> {module}"))
    return bad


SIMULATORS = sorted(ADAPTERS.glob("*/simulator.py"))


def test_every_system_has_its_simulator_checked() -> None:
    assert {p.parent.name for p in SIMULATORS} >= {"apptest", "codearts", "perftest", "testplanit", "testrail"}


@pytest.mark.parametrize("path", SIMULATORS, ids=lambda p: p.parent.name)
def test_a_simulator_imports_nothing_from_the_adapter_side(path: Path) -> None:
    assert forbidden_imports(path) == []


def test_the_check_sees_an_import_of_the_client(tmp_path: Path) -> None:
    """The check itself: a module importing a client, directly or inside a function, is caught."""
    fake = tmp_path / "simulator.py"
    fake.write_text(
        "from adapters.simulation import Faults\n"
        "def answer():\n    from adapters.apptest.client import RESULT_CODES\n    return RESULT_CODES\n"
        "from adapters.codearts import signer\n",
        encoding="utf-8",
    )
    assert sorted(forbidden_imports(fake)) == [
        "simulator -> adapters.apptest.client",
        "simulator -> adapters.codearts.signer",
    ]


# --------------------------------------------------------------- the two readings agree where they meet
@pytest.mark.parametrize(
    ("text", "seconds", "normal"),
    [
        ("1m 5s", 65, "1m 5s"),
        ("65", 65, "1m 5s"),
        ("2h30m", 9000, "2h 30m"),
        ("1.5h", 5400, "1h 30m"),
        ("1d", 86400, "24h"),
    ],
)
def test_the_testrail_simulator_reads_time_spans_like_the_adapter(text: str, seconds: int, normal: str) -> None:
    from adapters.simulation_timespan import span_seconds, span_text
    from adapters.testrail.timespan import format_timespan, parse_timespan

    assert span_seconds(text) == parse_timespan(text) == seconds
    assert span_text(seconds) == format_timespan(seconds) == normal


@pytest.mark.parametrize("text", ["5 minutes", "m5", "1h 5", "", "1..5h"])
def test_the_testrail_simulator_refuses_what_is_no_time_span(text: str) -> None:
    from adapters.simulation_timespan import NotATimespan, span_seconds

    if not text:
        assert span_seconds(text) is None
        return
    with pytest.raises(NotATimespan):
        span_seconds(text)


def test_the_gateway_accepts_the_clients_signature_and_refuses_a_changed_request() -> None:
    import httpx

    from adapters.codearts.signer import AkSkAuth
    from adapters.simulation_apig import GatewayRefusal, check_signature

    request = httpx.Request(
        "POST", "https://gw.example.com:8443/v1/p1/testcases/batch-query?b=2&a=x y~", json={"offset": 0}
    )
    AkSkAuth("AK1", "SK1", project_id="p1").sign(request)
    path, _, query = request.url.raw_path.decode().partition("?")
    headers = dict(request.headers)
    assert (
        check_signature(lambda ak: "SK1" if ak == "AK1" else None, "POST", path, query, headers, request.content)
        == "AK1"
    )
    for method, p, q, body in (
        ("PUT", path, query, request.content),
        ("POST", path + "x", query, request.content),
        ("POST", path, "a=1", request.content),
        ("POST", path, query, b'{"offset": 1}'),
    ):
        with pytest.raises(GatewayRefusal, match="signature mismatch"):
            check_signature(lambda ak: "SK1", method, p, q, headers, body)
    with pytest.raises(GatewayRefusal, match="unknown access key"):
        check_signature(lambda ak: None, "POST", path, query, headers, request.content)
