"""The pages as served by ``testplan-bridge ui`` and on the daemon's HTTP port."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
from ui_helpers import form_token, scene

from bridge.config import config_from_dict
from bridge.daemon.service import Daemon, bind_http

REPO = Path(__file__).resolve().parents[2]


def _config_file(s, path: Path, extra: str = "") -> Path:  # type: ignore[no-untyped-def]
    from e2e_harness import KIND_OF

    lines = [f"[store]\nurl = {json.dumps(s.w.store_url)}\n"]
    for name, sim in s.w.sims.items():
        lines.append(f"[systems.{name}]\nkind = {json.dumps(KIND_OF[name])}\nurl = {json.dumps(s.w.urls[name])}")
        lines += [f"{k} = {json.dumps(v)}" for k, v in sim.credentials().items()]
    lines.append('[[jobs]]\nname = "qa"\nleft = "tr"\nright = "tp"\n')
    path.write_text("\n".join(lines) + extra)
    return path


def test_ui_command_serves_on_loopback_and_refuses_other_addresses_without_token(tmp_path: Path) -> None:
    with scene(tmp_path) as s:
        cfg = _config_file(s, tmp_path / "bridge.toml")
        refused = subprocess.run(
            [sys.executable, "-m", "bridge", "ui", "-c", str(cfg), "--host", "0.0.0.0", "--port", "0"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 2 and "need a token" in refused.stderr and "Traceback" not in refused.stderr
        proc = subprocess.Popen(
            [sys.executable, "-m", "bridge", "ui", "-c", str(cfg), "--port", "0"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:")
            page = httpx.get(url + f"conflicts/{s.title_conflict}", timeout=10)
            assert page.status_code == 200 and "Checkout (left)" in page.text
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def test_daemon_port_serves_the_pages_and_the_probes(tmp_path: Path) -> None:
    with scene(tmp_path) as s:
        raw = s.w.config().model_dump(mode="json")
        cfg = config_from_dict(
            {
                "store": {"url": s.w.store_url},
                "systems": {
                    n: {**s.w.config().system(n).model_dump(mode="json"), **s.w.sims[n].credentials()} for n in s.w.sims
                },
                "jobs": raw["jobs"],
                "daemon": {"http_port": 0},
            }
        )
        http = bind_http(cfg)
        assert http is not None
        Daemon(tmp_path / "bridge.toml", cfg, s.w.store, http=http)
        http.start()
        try:
            base = f"http://127.0.0.1:{http.port}"
            assert httpx.get(base + "/metrics", timeout=10).status_code == 200
            page = httpx.get(base + f"/conflicts/{s.title_conflict}", timeout=10)
            assert page.status_code == 200 and "Checkout (right)" in page.text
            answer = httpx.post(
                base + f"/conflicts/{s.title_conflict}/resolve",
                data={"csrf": form_token(page.text), "take": "left"},
                headers={"Origin": base},
                timeout=10,
            )
            assert answer.status_code == 303
            assert s.w.store.conflict(s.title_conflict).resolution == "left"
            bad = httpx.post(base + f"/conflicts/{s.steps_conflict}/resolve", data={"take": "left"}, timeout=10)
            assert bad.status_code == 403 and s.w.store.conflict(s.steps_conflict).resolved_at is None
            for path in ("/", "/conflicts", "/runs"):
                assert httpx.get(base + path, timeout=10).status_code == 200
        finally:
            http.stop()


def test_daemon_off_loopback_without_token_keeps_probes_only(tmp_path: Path) -> None:
    with scene(tmp_path) as s:
        cfg = config_from_dict({"store": {"url": s.w.store_url}, "daemon": {"http_port": 0, "http_host": "0.0.0.0"}})
        http = bind_http(cfg)
        assert http is not None
        Daemon(tmp_path / "bridge.toml", cfg, s.w.store, http=http)
        http.start()
        try:
            base = f"http://127.0.0.1:{http.port}"
            assert httpx.get(base + "/metrics", timeout=10).status_code == 200
            off = httpx.get(base + "/conflicts", timeout=10)
            assert off.status_code == 404 and "[ui] token" in off.text
        finally:
            http.stop()


def test_conflicts_show_prints_steps_one_position_at_a_time(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from bridge.cli import main

    with scene(tmp_path) as s:
        cfg = _config_file(s, tmp_path / "bridge.toml")
        with pytest.raises(SystemExit) as exit_info:
            main(["conflicts", "show", str(s.steps_conflict), "-c", str(cfg)])
        out = capsys.readouterr().out
        assert exit_info.value.code == 0
        lines = out.splitlines()
        assert "     field: steps" in lines
        assert "    step 1: base   Checkout step 1 -> ok 1" in lines
        assert "            left   Open the cart -> ok 1" in lines
        assert "            right  (as base)" in lines
        assert "    step 4: base   (no step)" in lines and "            right  Log out -> signed out" in lines
        assert len(lines) < 25  # not a page of JSON
