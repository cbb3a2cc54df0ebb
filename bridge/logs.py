"""Logging set-up: readable lines on a terminal, one JSON object per line elsewhere (daemons, CI).

Structured fields are passed with ``extra={...}`` (job, run_id, system, counts...). Every handler carries
the redacting filter, so no secret reaches a log line whatever the caller passes.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from bridge.redact import RedactingFilter, redact

_STANDARD = set(logging.LogRecord("x", 0, "x", 0, "x", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = value
        if record.exc_text:
            payload["exception"] = record.exc_text
        return redact(json.dumps(payload, default=str, ensure_ascii=False))


def plain_value(value: Any) -> str:
    """A field's value in a plain line: bare when it is one word, JSON otherwise (never a Python repr)."""
    if isinstance(value, str):
        return value if value and not any(c in value for c in " =\"'\n\t") else json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class PlainFormatter(logging.Formatter):
    """``2026-01-02T10:00:00.123Z info    message key=value ...``: one line a person reads and grep splits."""

    def format(self, record: logging.LogRecord) -> str:
        extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}
        tail = " ".join(f"{k}={plain_value(v)}" for k, v in extras.items())
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        line = f"{ts} {record.levelname.lower():7} {record.getMessage()}" + (f" {tail}" if tail else "")
        if record.exc_text:
            line += "\n" + record.exc_text
        return redact(line)


class CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes each record to ``sys.stderr`` as it is when the record is emitted.

    A handler bound to the ``sys.stderr`` of the moment it was made keeps writing to that object after the
    process swapped it (a test harness capturing output, a daemon redirecting it): once that object is closed,
    every record costs a "Logging error" traceback instead of a line.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # (Handler.handle holds the handler's lock around emit)
        super().emit(record)


def configure_logging(level: str = "INFO", *, json_lines: bool | None = None, stream: Any = None) -> None:
    """Route the ``bridge``, ``adapters`` and ``mappings`` loggers to stderr (or ``stream``).

    ``json_lines`` defaults to True when the stream is not a terminal.
    """
    if json_lines is None:
        shown = stream or sys.stderr
        json_lines = not (hasattr(shown, "isatty") and shown.isatty())
    handler = logging.StreamHandler(stream) if stream is not None else CurrentStderrHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if json_lines else PlainFormatter())
    for name in ("bridge", "adapters", "mappings"):
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(level.upper())
        logger.propagate = False
