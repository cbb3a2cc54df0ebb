"""Secrets configured for a system never reach a log line, an error message or a recorded cassette.

The secrets are registered the way the bridge registers them: by loading a config file.
"""

from __future__ import annotations

import base64
import io
import json
import logging
from pathlib import Path

import httpx
import pytest

from bridge.config import Config, load_config
from bridge.errors import AuthError, ValidationFailed
from bridge.http import HttpClient, HttpSettings, RequestStats
from bridge.logs import configure_logging

from .loopback import Script

USER = "bridge@example.com"
API_KEY = "TRkey-9f8e7d6c5b4a"
PASSWORD = 'pa"ss\\w0rd-é'  # quotes and backslashes change form when JSON-escaped
TOKEN = "tpi_0b1c2d3e4f5a6b7c"
BASIC = base64.b64encode(f"{USER}:{API_KEY}".encode()).decode()

CONFIG = f"""
[systems.tr]
kind = "testrail"
url = "http://127.0.0.1:9"
user = "{USER}"
api_key_file = "tr-key"
project = 1

[systems.tr2]
kind = "testrail"
url = "http://127.0.0.1:9"
user = "other@example.com"
password = "${{TR2_PASSWORD}}"
project = 1

[systems.tpi]
kind = "testplanit"
url = "http://127.0.0.1:9"
token = "${{TPI_TOKEN}}"
project = "Demo"
"""


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    directory = tmp_path_factory.mktemp("redaction")
    (directory / "tr-key").write_text(API_KEY + "\n")
    (directory / "bridge.toml").write_text(CONFIG)
    return load_config(directory / "bridge.toml", environ={"TR2_PASSWORD": PASSWORD, "TPI_TOKEN": TOKEN})


def forms() -> list[str]:
    """Every way a secret may show up: as is, Basic-auth encoded, and JSON-escaped."""
    values = [API_KEY, PASSWORD, TOKEN, BASIC, base64.b64encode(f"other@example.com:{PASSWORD}".encode()).decode()]
    escaped = [json.dumps(v, ensure_ascii=a)[1:-1] for v in values for a in (True, False)] + [
        repr(v)[1:-1] for v in values
    ]
    return values + escaped


def assert_clean(text: str) -> None:
    for form in forms():
        assert form not in text, f"secret form {form!r} leaked into:\n{text}"


def _log_everything(logger: logging.Logger) -> None:
    logger.info("logging in with %s", API_KEY)
    logger.warning(f"password is {PASSWORD}")
    logger.info("header", extra={"authorization": f"Basic {BASIC}", "token": TOKEN, "password": PASSWORD})
    logger.info("nested", extra={"request": {"headers": {"X-Token": TOKEN}, "body": [PASSWORD]}})
    try:
        raise RuntimeError(f"server said: bad key {API_KEY} / {PASSWORD}")
    except RuntimeError:
        logger.exception("request failed for token %s", TOKEN)


@pytest.mark.parametrize("json_lines", [True, False], ids=["json", "plain"])
def test_secrets_never_reach_a_log_line(config: Config, restore_logging: None, json_lines: bool) -> None:
    stream = io.StringIO()
    configure_logging("debug", json_lines=json_lines, stream=stream)
    for name in ("bridge.sync", "adapters.testrail", "mappings.store"):
        _log_everything(logging.getLogger(name))
    output = stream.getvalue()
    assert_clean(output)
    assert output.count("***") == 3 * 10
    assert "logging in with ***" in output and "server said: bad key *** / ***" in output
    if json_lines:
        records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
        assert len(records) == 15
        assert records[2]["authorization"] == "Basic ***" and records[2]["token"] == "***"


def test_an_error_body_echoing_the_key_is_redacted(config: Config, script: Script, server_url: str) -> None:
    """Servers echo what they were sent; the typed error (and any log of it) must not carry the secret."""
    script.queue("/index.php", (401, {}, f'{{"error": "Authentication failed: invalid key {API_KEY}"}}'.encode()))
    script.queue("/validate", (400, {}, f'{{"error": "token {TOKEN} is not allowed, password={PASSWORD}"}}'.encode()))
    settings = HttpSettings(base_url=server_url, max_retries=0)
    with HttpClient("tr", settings, auth=httpx.BasicAuth(USER, API_KEY), stats=RequestStats()) as http:
        with pytest.raises(AuthError) as auth:
            http.get("/index.php")
    # a client that met a 401 sends nothing more: the second echo needs a client of its own
    with HttpClient("tr", settings, auth=httpx.BasicAuth(USER, API_KEY), stats=RequestStats()) as http:
        with pytest.raises(ValidationFailed) as invalid:
            http.post("/validate", json={"token": TOKEN})
    assert script.seen("/index.php")[0].headers["authorization"] == f"Basic {BASIC}"  # it was really sent
    for exc in (auth.value, invalid.value):
        assert_clean(str(exc))
        assert_clean(repr(exc.args))
        assert "***" in str(exc)
    assert "invalid key ***" in str(auth.value)


def test_a_cassette_records_no_secret(config: Config, script: Script, server_url: str, tmp_path: Path) -> None:
    cassette = tmp_path / "exchanges.yaml"
    script.queue(
        "/echo",
        (200, {"Set-Cookie": f"session={TOKEN}", "X-Echo": API_KEY}, f'{{"you sent": "{API_KEY}"}}'.encode()),
    )
    settings = HttpSettings(base_url=server_url, record_cassette=str(cassette))
    http = HttpClient("tr", settings, auth=httpx.BasicAuth(USER, API_KEY), stats=RequestStats())
    try:
        http.get("/echo", params={"key": API_KEY, "page": "2"}, headers={"X-Auth-Token": TOKEN})
        http.post("/echo", json={"password": "x", "api_key": API_KEY, "note": f"token {TOKEN}"})
    finally:
        http.close()
    assert len(script.seen("/echo")) == 2
    text = cassette.read_text()
    assert "/echo" in text and "page=2" in text, "the exchanges were recorded"
    assert_clean(text)


def test_log_lines_follow_stderr_when_it_is_swapped(restore_logging: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once: a run configured logging on the stderr of that moment; after it was swapped and closed, every
    later record printed a "Logging error" traceback instead of its line (seen between tests under pytest)."""
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stderr", first)
    configure_logging("info", json_lines=False)
    logging.getLogger("bridge.sync").info("one")
    assert first.getvalue().endswith(" info    one\n")
    first.close()
    monkeypatch.setattr("sys.stderr", second)
    logging.getLogger("bridge.sync").info("two")
    out = second.getvalue()
    assert out.endswith(" info    two\n") and "Logging error" not in out
