"""``testplan-bridge codearts api-suite`` and ``codearts environments`` against the simulator (the real CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.codearts.simulator import CodeArtsSimulator
from bridge.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out = capsys.readouterr()
    return int(exit_info.value.code or 0), out.out + out.err


@pytest.fixture
def config(tmp_path: Path):
    sim = CodeArtsSimulator(seed=2)
    for i in range(1, 5):
        sim.environments.append(
            {"environment_id": f"{i:032x}", "environment_name": f"Staging {i}", "is_default": False}
        )
    with sim.serve() as server:
        lines = ["[systems.ca]", 'kind = "codearts"', f"url = {json.dumps(server.url)}", "max_retries = 1"]
        lines += [f"{k} = {json.dumps(v)}" for k, v in sim.credentials().items()]
        path = tmp_path / "bridge.toml"
        path.write_text("\n".join(lines) + "\n")
        yield str(path)


def test_environments_are_listed_page_by_page(config, capsys):
    code, out = run(capsys, "codearts", "environments", "--config", config, "--limit", "2", "--all")
    assert code == 0
    names = [json.loads(line)["environment_name"] for line in out.splitlines() if line.startswith("{")]
    assert names == ["Default environment", "Staging 1", "Staging 2", "Staging 3", "Staging 4"]
    assert "5 of 5 environment group(s)" in out
    code, out = run(capsys, "codearts", "environments", "--config", config, "--limit", "2")
    assert code == 0 and "2 of 5" in out
    code, out = run(capsys, "codearts", "environments", "--config", config, "--limit", "500")
    assert code == 2 and "--limit: 1 to 200" in out


def test_api_suite_from_a_repository_file_and_its_errors_explained(config, capsys):
    args = ["codearts", "api-suite", "--config", config, "--name", "Payments API", "--branch", "master"]
    code, out = run(capsys, *args, "--repository", "a" * 32, "--file", "api/payments.yaml")
    assert code == 0
    answer = json.loads(out.splitlines()[-1])
    assert len(answer["testsuite_id"]) == 32 and len(answer["testcase_ids"]) == 3
    # refused before sending: named option, exit 2
    code, out = run(capsys, *args, "--repository", "short", "--file", "api/payments.yaml")
    assert code == 2 and "--repository: 32 to 32 characters" in out
    # refused by the service: its code and what to do, exit 1
    code, out = run(capsys, *args, "--repository", "-" * 32, "--file", "api/payments.yaml")
    assert code == 1 and "CLOUDTEST.43400334" in out and "CodeArts Repo's repository id" in out
    assert "Traceback" not in out
