"""Secret redaction for every log line and error text.

Secrets are registered when the config is loaded (and by auth helpers for derived forms such as a Basic
auth header or an IAM token). :func:`redact` replaces each registered secret with ``***``; the logging
filter applies it to every record, including arguments and exception text.
"""

from __future__ import annotations

import base64
import logging
import re
import threading

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None

#: header values that are secret whatever their content
SECRET_HEADERS = frozenset(
    {"authorization", "x-auth-token", "x-subject-token", "cookie", "set-cookie", "proxy-authorization"}
)
_MIN_LEN = 4  # shorter strings would redact ordinary words; no real credential is that short


def register_secret(value: str | None) -> None:
    """Remember a secret so it never appears in logs or error text (nor its Basic-auth forms)."""
    global _pattern
    if not value or len(value) < _MIN_LEN:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        _pattern = re.compile("|".join(re.escape(s) for s in sorted(_secrets, key=len, reverse=True)))


def register_basic_auth(user: str, password: str) -> None:
    """Register the password and the base64 form of ``user:password`` a Basic auth header carries."""
    register_secret(password)
    register_secret(base64.b64encode(f"{user}:{password}".encode()).decode())


def redact(text: str) -> str:
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub("***", text)


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: ("***" if k.lower() in SECRET_HEADERS else redact(v)) for k, v in headers.items()}


_STANDARD_ATTRS = frozenset(logging.LogRecord("x", 0, "x", 0, "x", None, None).__dict__) | {"message", "asctime"}


def _redact_value(value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_value(v) for v in value)
    return value


class RedactingFilter(logging.Filter):
    """Applies :func:`redact` to the fully formatted message of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not hide the log line
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        # every extra field, not only strings at the top: a formatter may escape a value (JSON, repr) into a
        # form the final redaction of the line no longer recognises
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS:
                setattr(record, key, _redact_value(value))
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
