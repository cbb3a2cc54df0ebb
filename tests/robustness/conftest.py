"""Fixtures of the robustness tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Crash reports of the CLI processes these tests start go to the test's folder, not the user's home."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
