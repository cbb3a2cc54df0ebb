"""The CLI's last guard: an exception nobody expected is one paragraph and a traceback file, never a raw
traceback on the terminal, and never a secret in either."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import typer

from bridge import cli
from bridge.redact import register_secret

SECRET = "guard-test-s3cret-value"


def test_an_unexpected_error_is_one_paragraph_with_the_path_of_a_redacted_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    register_secret(SECRET)
    app = typer.Typer()
    app.callback()(lambda: None)  # a group: "boom" is a command name, as the real CLI's are

    @app.command()
    def boom() -> None:
        """A command with a bug: a KeyError that carries a secret and a credential in a URL."""
        raise KeyError(f"token {SECRET} at https://bridge:pw-in-url@tr.example.com/api")

    monkeypatch.setattr(cli, "app", app)
    monkeypatch.setattr(cli, "_register_commands", lambda: None)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["boom"])
    assert exit_info.value.code == 70
    err = capsys.readouterr().err
    assert err.startswith("error: testplan-bridge stopped on an unexpected error (KeyError: ")
    assert "Traceback" not in err and SECRET not in err and "pw-in-url" not in err
    (crash,) = (tmp_path / "state" / "testplan-bridge" / "crashes").iterdir()
    assert str(crash) in err.replace("\n", "")
    assert stat.S_IMODE(crash.stat().st_mode) == 0o600
    text = crash.read_text()
    assert "Traceback (most recent call last)" in text and "in boom" in text and "command: testplan-bridge boom" in text
    assert SECRET not in text and "pw-in-url" not in text and "https://bridge:***@tr.example.com" in text


def test_without_a_writable_state_directory_the_traceback_goes_to_the_temp_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = typer.Typer()

    @app.command()
    def boom() -> None:
        raise RuntimeError("a bug")

    app.callback()(lambda: None)
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the state directory would go")
    monkeypatch.setattr(cli, "app", app)
    monkeypatch.setattr(cli, "_register_commands", lambda: None)
    monkeypatch.setenv("XDG_STATE_HOME", str(blocked))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["boom"])
    assert exit_info.value.code == 70
    err = capsys.readouterr().err
    (folder,) = (tmp_path / "tmp").iterdir()
    (crash,) = folder.iterdir()
    assert str(crash) in err.replace("\n", "") and "RuntimeError: a bug" in crash.read_text()


def test_a_usage_error_is_exit_2_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    """typer raises usage errors of its own copy of click: they too are one paragraph, not a crash."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["sync", "--bogus"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "No such option: --bogus" in err and "Traceback" not in err and "unexpected error" not in err
