"""The last guard: an exception nobody expected becomes one paragraph for the user and a traceback file.

The file goes under the user's state directory (``$XDG_STATE_HOME/testplan-bridge/crashes``, by default
``~/.local/state/testplan-bridge/crashes``; the temp directory if that cannot be written), readable by its owner
only. Its text passes through the same redaction as every log line, plus patterns for credentials that were
not registered as secrets yet (a URL's user-info, an Authorization header, a bearer token).
"""

from __future__ import annotations

import os
import platform
import re
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bridge import __version__
from bridge.redact import redact

#: exit code of an unexpected internal error (sysexits' EX_SOFTWARE)
EXIT_INTERNAL = 70

_CREDENTIAL_PATTERNS = (
    (re.compile(r"(://[^/@:\s]*:)[^@/\s]*@"), r"\1***@"),
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(basic|bearer|token)?\s*[^\s'\",}]+"), r"\1\2 ***"),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1***"),
    (re.compile(r"\btpi_[A-Za-z0-9_-]{8,}"), "tpi_***"),
)


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "testplan-bridge"


def scrub(text: str) -> str:
    text = redact(text)
    for pattern, replacement in _CREDENTIAL_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def write_traceback(exc: BaseException, argv: list[str]) -> Path | None:
    """Write the redacted traceback of ``exc`` to a new file; its path, or None if no place could be written."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = scrub(
        f"testplan-bridge {__version__}, Python {platform.python_version()} on {platform.platform()}\n"
        f"command: testplan-bridge {' '.join(argv)}\n"
        f"time: {stamp}\n\n" + "".join(traceback.format_exception(exc))
    )
    for folder in (state_dir() / "crashes", Path(tempfile.gettempdir()) / f"testplan-bridge-{os.getuid()}"):
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            path = folder / f"crash-{stamp}-{os.getpid()}.txt"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            return path
        except OSError:
            continue
    return None


def paragraph(exc: BaseException, path: Path | None) -> str:
    """What the user reads: what happened, where the details are, and that running again is safe."""
    what = scrub(f"{type(exc).__name__}: {exc}")[:300]
    where = f"The traceback is in {path} (secrets removed); " if path else "No traceback file could be written; "
    return (
        f"error: testplan-bridge stopped on an unexpected error ({what}). {where}please attach it to a bug "
        "report. Running again is safe: the store keeps what was done, and write intents let the next run "
        "settle a write that was in flight."
    )


def argv_of(argv: list[str] | None) -> list[str]:
    return list(sys.argv[1:] if argv is None else argv)
