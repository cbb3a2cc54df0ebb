"""Config validation: every mistake is reported as one paragraph naming the file, the key and what is expected.

Each bad config below is a complete TOML file written to a temporary directory and loaded through
:func:`bridge.config.load_config`, the path the CLI takes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.config import load_config
from bridge.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]

SECRET = "tr-4pi-key-5ecret"

#: a valid config; the bad ones replace one marked line (``@NAME@``) each
BASE = """
@TOP@
[store]
url = "sqlite:///{db}"
@STORE@

[logging]
@LEVEL@

[daemon]
@BACKOFF@
@DAEMON@

[systems.tr]
kind = "testrail"
url = "http://127.0.0.1:9/testrail"
user = "bridge@example.com"
api_key_file = "tr-key"
project = 1
@TR@

[systems.ca]
kind = "codearts"
url = "http://127.0.0.1:9/codearts"
project_id = "0123456789abcdef0123456789abcdef"
ak = "AKPLACEHOLDER"
sk_file = "ca-sk"
@CA@

[systems.tpi]
kind = "testplanit"
url = "http://127.0.0.1:9/tpi"
token = "tpi_placeholder"
project_id = 1

[systems.app]
kind = "apptest"
user_id = "ci"
access_key = "placeholder-access"

[systems.perf]
kind = "perftest"
url = "http://127.0.0.1:9/perf"
project_id = "0123456789abcdef0123456789abcdef"
ak = "AKPLACEHOLDER"
sk = "SKPLACEHOLDER"

[[jobs]]
name = "tr-ca"
left = "tr"
right = "ca"
@SCHEDULE@
@JOB@

[jobs.field_owners]
title = "left"
@OWNERS@

[jobs.value_maps.tr.status]
6 = "retest"
@VMAP@

@MORE@
"""


DEFAULTS = {
    "LEVEL": 'level = "info"',
    "BACKOFF": 'max_backoff = "1h"',
    "SCHEDULE": 'schedule = "*/30 * * * *"',
}


def write_config(tmp_path: Path, **replace: str) -> Path:
    (tmp_path / "tr-key").write_text(SECRET + "\n")
    (tmp_path / "ca-sk").write_text("ca-secret-key-value\n")
    text = BASE.replace("{db}", str(tmp_path / "bridge.db"))
    for name, value in {**DEFAULTS, **replace}.items():
        text = text.replace(f"@{name}@", value)
    text = "\n".join(line for line in text.splitlines() if not (line.startswith("@") and line.endswith("@")))
    path = tmp_path / "bridge.toml"
    path.write_text(text)
    return path


def test_the_base_config_is_valid(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path), environ={})
    assert config.system("tr").secrets() == [SECRET]  # type: ignore[attr-defined]
    assert config.job("tr-ca").field_owners == {"title": "left"}
    assert config.store.url.endswith("bridge.db")


#: the rest of a TestRail system table, for the url cases
TR3 = 'user = "u"\napi_key = "k"\nproject = 1'

# (id, replacements, fragments the message must contain)
BAD: list[tuple[str, dict[str, str], list[str]]] = [
    ("unknown top-level key", {"TOP": 'colour = "blue"'}, ["colour: unknown key"]),
    ("unknown key in a system", {"TR": "sute_id = 3"}, ["systems.tr.sute_id: unknown key"]),
    ("unknown key in a job", {"JOB": 'conflict = "manual"'}, ["jobs[0].conflict: unknown key"]),
    ("unknown store key", {"STORE": 'path = "x.db"'}, ["store.path: unknown key"]),
    (
        "wrong kind",
        {"MORE": '[systems.j]\nkind = "jira"\nurl = "http://x"'},
        ["systems.j.kind", "expected one of", "codearts", "'jira'"],
    ),  # noqa: E501
    ("missing kind", {"MORE": '[systems.j]\nurl = "http://x"'}, ["systems.j.kind", "(missing)"]),
    (
        "missing required key",
        {"MORE": '[systems.t2]\nkind = "testrail"\nurl = "http://x"\napi_key = "abcd"\nproject = 1'},
        ["systems.t2.user: required key is missing"],
    ),  # noqa: E501
    ("wrong value type", {"TR": 'timeout = "fast"'}, ["systems.tr.timeout", "number", "'fast'"]),
    (
        "codearts without credentials",
        {"MORE": '[systems.c2]\nkind = "codearts"\nurl = "http://x"\nproject_id = "p"'},
        ["systems.c2", "set ak and sk"],
    ),  # noqa: E501
    (
        "bad direction",
        {"JOB": 'direction = "sideways"'},
        ["jobs[0].direction", "'both'", "'left-to-right'", "'sideways'"],
    ),  # noqa: E501
    (
        "bad conflict policy",
        {"JOB": 'conflict_policy = "coin-toss"'},
        ["jobs[0].conflict_policy", "'manual'", "'newest-wins'"],
    ),  # noqa: E501
    ("bad entity", {"JOB": 'entities = ["case", "bug"]'}, ["jobs[0].entities[1]", "'folder'", "'bug'"]),
    (
        "job naming an unknown system",
        {"MORE": '[[jobs]]\nname = "x"\nleft = "tr"\nright = "jira"'},
        ["jobs[1] (x).right", "no system named 'jira'", "[systems.jira]"],
    ),  # noqa: E501
    (
        "job with left == right",
        {"MORE": '[[jobs]]\nname = "x"\nleft = "tr"\nright = "tr"'},
        ["jobs[1]", "two different systems"],
    ),  # noqa: E501
    (
        "duplicate job names",
        {"MORE": '[[jobs]]\nname = "tr-ca"\nleft = "tr"\nright = "tpi"'},
        ["jobs[1] (tr-ca).name", "unique"],
    ),  # noqa: E501
    (
        "job name with spaces",
        {"MORE": '[[jobs]]\nname = "my job"\nleft = "tr"\nright = "tpi"'},
        ["jobs[1].name", "'my job'"],
    ),  # noqa: E501
    (
        "non-syncable kind in a job",
        {"MORE": '[[jobs]]\nname = "x"\nleft = "tr"\nright = "app"'},
        ["jobs[1] (x).right", "'app' is a apptest system", "codearts, testrail, testplanit"],
    ),  # noqa: E501
    (
        "perftest naming a non-perftest system",
        {"JOB": 'perftest = "tpi"'},
        ["jobs[0] (tr-ca).perftest", "perftest system"],
    ),  # noqa: E501
    ("bad cron", {"SCHEDULE": 'schedule = "61 * * * *"'}, ["jobs[0].schedule", "5-field cron", "'61 * * * *'"]),
    ("cron with six fields", {"SCHEDULE": 'schedule = "0 0 * * * *"'}, ["jobs[0].schedule", "5-field cron"]),
    ("interval under a second", {"SCHEDULE": 'schedule = "0.5s"'}, ["jobs[0].schedule", "at least 1s"]),
    (
        "bad duration",
        {"JOB": 'newest_wins_tolerance = "5 minutes"'},
        ["jobs[0].newest_wins_tolerance", "90s, 15m, 2h or 1d", "'5 minutes'"],
    ),  # noqa: E501
    ("bad daemon duration", {"BACKOFF": 'max_backoff = "forever"'}, ["daemon.max_backoff", "duration"]),
    ("port out of range", {"DAEMON": "http_port = 70000"}, ["daemon.http_port", "65535"]),
    ("bad log level", {"LEVEL": 'level = "verbose"'}, ["logging.level", "'debug'"]),
    (
        "threshold above 1",
        {"JOB": "mass_delete_threshold = 2"},
        ["jobs[0].mass_delete_threshold", "less than or equal to 1"],
    ),  # noqa: E501
    (
        "unset environment variable",
        {"TR": 'suite_id = "${TPB_TEST_UNSET_SUITE}"'},
        ["systems.tr.suite_id", "environment variable TPB_TEST_UNSET_SUITE is not set"],
    ),  # noqa: E501
    (
        "unreadable secret file",
        {"CA": 'iam_password_file = "no-such-file"'},
        ["systems.ca.iam_password_file", "cannot read secret file", "no-such-file"],
    ),  # noqa: E501
    ("empty secret file", {"CA": 'iam_password_file = "empty"'}, ["systems.ca.iam_password_file", "is empty"]),
    (
        "both key and key_file",
        {"TR": 'api_key = "inline"'},
        ["systems.tr.api_key_file", "set api_key or api_key_file, not both"],
    ),  # noqa: E501
    ("bad store url", {"STORE": "", "MORE": ""}, ["store.url", "sqlite:///PATH", "postgresql"]),
    (
        "bad value map value",
        {"VMAP": '7 = "green"'},
        ["jobs[0].value_maps.tr", "status.7 = 'green'", "expected one of", "passed"],
    ),  # noqa: E501
    (
        "bad system value map",
        {"TR": '[systems.tr.value_maps.priority]\n1 = "urgent"'},
        ["systems.tr.value_maps", "priority.1 = 'urgent'", "critical"],
    ),  # noqa: E501
    (
        "value map for a system outside the job",
        {"MORE": '[jobs.value_maps.tpi.status]\npassed = "passed"'},
        ["jobs[0] (tr-ca).value_maps.tpi", "only connects tr and ca"],
    ),  # noqa: E501
    (
        "unknown field owner",
        {"OWNERS": 'colour = "left"'},
        ["jobs[0].field_owners", "unknown field(s) colour", "title"],
    ),  # noqa: E501
    (
        "bad field owner side",
        {"OWNERS": 'priority = "middle"'},
        ["jobs[0].field_owners.priority", "'left' or 'right'", "'middle'"],
    ),  # noqa: E501
    ("jobs as a table", {"MORE": "", "JOB": ""}, ["jobs", "list"]),
    (
        "url of another scheme",
        {
            "MORE": '[systems.t3]\nkind = "testrail"\nurl = "ftp://files.example.com/tr"\n' + TR3,
        },
        ["systems.t3.url", "expected an http:// or https:// URL", "'ftp://files.example.com/tr'"],
    ),
    (
        "url without a scheme",
        {"MORE": '[systems.t3]\nkind = "testplanit"\nurl = "127.0.0.1:8080/api"\ntoken = "tpi_x"\nproject_id = 1'},
        ["systems.t3.url", "expected an http:// or https:// URL", "'127.0.0.1:8080/api'"],
    ),
    (
        "url without a host",
        {"MORE": '[systems.t3]\nkind = "testrail"\nurl = "https:///index.php"\nuser = "u"\napi_key = "k"\nproject = 1'},
        ["systems.t3.url", "no host name"],
    ),
    (
        "url with a port that is not a number",
        {
            "MORE": '[systems.t3]\nkind = "testrail"\nurl = "http://tr.example.com:80a/"\n' + TR3,
        },
        ["systems.t3.url", "port is not valid"],
    ),
    ("unhealthy after no failure", {"DAEMON": "unhealthy_after_failures = 0"}, ["daemon.unhealthy_after_failures"]),
    ("reserved key source", {"TOP": 'source = "x"'}, ["source: unknown key"]),
]


def _bad_store_url(tmp_path: Path) -> Path:
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace('url = "sqlite:///', 'url = "mysql://'))
    return path


def _jobs_as_table(tmp_path: Path) -> Path:
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace("[[jobs]]", "[jobs]"))
    return path


@pytest.mark.parametrize(("replace", "fragments"), [(r, f) for _, r, f in BAD], ids=[i for i, _, _ in BAD])
def test_bad_config_is_reported_with_file_key_and_expectation(
    tmp_path: Path, replace: dict[str, str], fragments: list[str], request: pytest.FixtureRequest
) -> None:
    case = request.node.callspec.id
    if case == "bad store url":
        path = _bad_store_url(tmp_path)
    elif case == "jobs as a table":
        path = _jobs_as_table(tmp_path)
    else:
        path = write_config(tmp_path, **replace)
        (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    assert SECRET not in message
    assert info.value.exit_code == 2


def test_a_database_password_in_a_bad_store_url_is_not_echoed(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace('url = "sqlite:///', 'url = "postgres://bridge:hunter2pw@db/'))
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert "store.url" in str(info.value) and "postgres://bridge:***@db/" in str(info.value)
    assert "hunter2pw" not in str(info.value)


def test_the_store_password_is_registered_for_redaction(tmp_path: Path) -> None:
    from bridge.redact import redact

    path = write_config(tmp_path)
    path.write_text(path.read_text().replace('url = "sqlite:///', 'url = "postgresql://bridge:${DBPW}@db/'))
    config = load_config(path, environ={"DBPW": "s3cr%40tdb"})
    assert config.store.url.startswith("postgresql+psycopg://bridge:")
    assert redact("connecting with s3cr@tdb failed") == "connecting with *** failed"


def test_not_toml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[store]\nurl = "sqlite:///x.db"\n[systems.tr\nkind = "testrail"\n')
    with pytest.raises(ConfigError, match=r"broken\.toml: not valid TOML: .*line 3"):
        load_config(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing-config-file.toml: file not found"):
        load_config(tmp_path / "missing-config-file.toml")


def test_environment_and_file_references_resolve(tmp_path: Path) -> None:
    path = write_config(tmp_path, TR='suite_id = "${TPB_SUITE}"\ntimeout = 12.5')
    config = load_config(path, environ={"TPB_SUITE": "7"})
    tr = config.system("tr")
    assert tr.suite_id == 7  # type: ignore[attr-defined]
    assert tr.timeout == 12.5
    assert config.system("ca").secrets() == ["AKPLACEHOLDER", "ca-secret-key-value"]  # type: ignore[attr-defined]


def test_a_secret_of_the_wrong_type_is_not_echoed(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace('token = "tpi_placeholder"', "token = 918273645546372819"))
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert "systems.tpi.token" in str(info.value)
    assert "918273645546372819" not in str(info.value)


def test_the_example_config_is_valid_without_environment_variables() -> None:
    config = load_config(REPO / "config.example.toml", environ={})
    kinds = {s.kind for s in config.systems.values()}
    assert kinds == {"codearts", "testrail", "testplanit", "apptest", "perftest"}
    assert len(config.jobs) == 2
    assert {j.direction for j in config.jobs} == {"both", "left-to-right"}
    assert any(j.field_owners for j in config.jobs) and any(j.value_maps for j in config.jobs)
    assert any(j.conflict_policy == "manual" and j.schedule for j in config.jobs)


def test_the_example_config_mentions_every_option() -> None:
    """Every field of every settings model appears in config.example.toml (set, or shown in a comment)."""
    from adapters.registry import KINDS, settings_class
    from bridge.config import Config, DaemonConfig, Job, LoggingConfig, Scope, StoreConfig

    text = (REPO / "config.example.toml").read_text()
    models = [Config, StoreConfig, LoggingConfig, DaemonConfig, Job, Scope] + [settings_class(k) for k in KINDS]
    missing = [
        f"{model.__name__}.{name}"
        for model in models
        for name in model.model_fields
        if name != "source" and f"{name} " not in text and f"{name}." not in text and f"[{name}]" not in text
    ]
    assert not missing, f"config.example.toml does not document: {', '.join(missing)}"


# ------------------------------------------------------------------------------------------------ the CLI


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cwd), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_cli_check_of_a_bad_config_exits_2_with_one_paragraph_and_writes_nothing(tmp_path: Path) -> None:
    path = write_config(tmp_path, JOB='direction = "sideways"')
    before = sorted(p.name for p in tmp_path.iterdir())
    result = _cli("check", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2, result
    assert result.stdout == ""
    err = result.stderr.strip()
    assert err.startswith("error: ") and "jobs[0].direction" in err and str(path) in err
    assert "Traceback" not in err and "\n\n" not in err
    assert SECRET not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not (tmp_path / "bridge.db").exists()


def test_cli_check_refuses_a_url_that_is_not_http_with_exit_2(tmp_path: Path) -> None:
    """Before: ``check`` passed, and the run failed later with exit 1. The user-info part is not echoed."""
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace('"http://127.0.0.1:9/tpi"', '"ftp://bridge:s3cr3t-pw@127.0.0.1:9/tpi"'))
    result = _cli("check", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2, result
    err = result.stderr
    assert "systems.tpi.url: expected an http:// or https:// URL" in err and "ftp://bridge:***@127.0.0.1:9/tpi" in err
    assert "s3cr3t-pw" not in err and "Traceback" not in err


def test_cli_version_and_check_of_the_example(tmp_path: Path) -> None:
    version = _cli("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("testplan-bridge 0.")
    check = _cli("check", "--config", str(REPO / "config.example.toml"), cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert "valid" in check.stdout and "codearts-testrail" in check.stdout
    assert list(tmp_path.iterdir()) == []  # check opens no store and writes no file
