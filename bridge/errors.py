"""Typed errors. Every message is meant for a person: what went wrong, where, and what to do.

Messages pass through :func:`bridge.redact.redact` when turned into text, so a secret that slipped into
a server's error text is never shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field

from bridge.redact import redact


class BridgeError(Exception):
    """Base of the errors the CLI reports as one clear paragraph (no traceback)."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        text = self.message if not self.hint else f"{self.message}\n{self.hint}"
        return redact(text)


class ConfigError(BridgeError):
    """The configuration file is wrong. Exit code 2; nothing was written anywhere."""

    exit_code = 2


class StoreError(BridgeError):
    """The mapping store could not be opened, upgraded or written (read-only file, full disk, server gone)."""


class JobBusy(BridgeError):
    """Another process is running the same job on this store; nothing was done. Exit code 4: try again later,
    or pass ``--wait`` to queue behind it."""

    exit_code = 4


class RemoteError(BridgeError):
    """A system answered with an error (or not at all)."""

    def __init__(
        self,
        message: str,
        *,
        system: str = "",
        method: str = "",
        route: str = "",
        status: int | None = None,
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = " ".join(p for p in (method, route) if p)
        prefix = f"{system}: " if system else ""
        tail = f" ({where} -> {status})" if where and status is not None else (f" ({where})" if where else "")
        code_part = f"[{code}] " if code else ""
        super().__init__(f"{prefix}{code_part}{message}{tail}", hint=hint)
        self.system = system
        self.method = method
        self.route = route
        self.status = status
        self.code = code
        self.remote_message = message


class AuthError(RemoteError):
    """Credentials missing, wrong or expired (401/403 and equivalents)."""


class PermissionDenied(RemoteError):
    """Authenticated, but not allowed (403, policy rejections)."""


class NotFound(RemoteError):
    """The record or route does not exist."""


class ValidationFailed(RemoteError):
    """The system refused the input (400/422); the message names the field when the system does."""


class UniqueViolation(ValidationFailed):
    """A record with the same unique key exists already."""


class RateLimited(RemoteError):
    """Throttled (429, APIG.0308) and the retries ran out."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ServerError(RemoteError):
    """5xx after the retries ran out."""

    #: seconds a 503 asked us to wait (``Retry-After``), honoured by the retries like a 429's
    retry_after: float | None = None


def error_class_for_status(status: int) -> type[RemoteError]:
    """The error class an HTTP status means when the body names nothing more specific.

    A bare 404 is :class:`MissingRoute`, not :class:`NotFound`: only an answer that names the record (an error
    code of the system's own) says the record is gone; a route the server does not know says nothing about it.
    """
    if status == 401:
        return AuthError
    if status == 403:
        return PermissionDenied
    if status == 404:
        return MissingRoute
    if status >= 500:
        return ServerError
    return ValidationFailed


class UnexpectedAnswer(RemoteError):
    """The system answered, but not with what its API documents: a page that is not JSON (a proxy's or a login
    page), JSON cut short, a value of the wrong shape, or a redirect. Never retried and never taken for "record
    not found": the run stops at that request and says which route answered what."""


class MissingRoute(UnexpectedAnswer):
    """The server does not know the route (a 404 that names no record: an unknown API method, a route not
    published in this region, a wrong url). Not :class:`NotFound`: a lookup answered this way says nothing
    about the record, so it must never be read as "deleted"."""


class NotSent(RemoteError):
    """A request this client refused to send because an earlier answer in the same run showed that the system
    cannot be talked to (credentials refused, a proxy or login page answering, a redirect, a bad certificate).
    Sending on would only repeat the failure, lock the account out, or write after the point of failure.
    ``cause`` is that earlier error."""

    def __init__(self, message: str, *, cause: RemoteError | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.cause = cause


def reported(exc: BridgeError) -> BridgeError:
    """The error to tell a person about when ``exc`` ends a connection: for a request not sent because an
    earlier answer showed the system cannot be used, that earlier answer's error, which says what to do.
    Requests sent side by side fail in either order, so the one that ends the caller may be the one that was
    not sent (a connect whose two first reads met a refused key said only "not sent")."""
    if isinstance(exc, NotSent) and exc.cause is not None:
        return exc.cause
    return exc


class TransportError(RemoteError):
    """No answer (connection refused, dropped, timed out).

    ``maybe_applied`` is True when the request may have reached the server before the failure (a write that
    timed out): the caller must look the record up before repeating a create.
    """

    def __init__(self, message: str, *, maybe_applied: bool = False, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.maybe_applied = maybe_applied


class UnusableWriteAnswer(UnexpectedAnswer, TransportError):
    """A write the server accepted (2xx) whose answer cannot be used (cut short, not JSON, wrong shape).

    The write may have been applied, exactly as when the connection drops after sending: ``maybe_applied`` is
    True, so a create's write intent stays open and the next run looks the record up by its marker instead of
    creating it a second time."""

    def __init__(self, message: str, **kw: object) -> None:
        super().__init__(message, maybe_applied=True, **kw)


class TlsError(TransportError):
    """The server's TLS certificate was refused. Never retried: it fails the same way every time."""


@dataclass(frozen=True)
class ItemFailure:
    item_id: str
    code: str | None
    message: str


class PartialBatchFailure(RemoteError):
    """A batch call in which some items failed and others may have succeeded."""

    def __init__(
        self,
        message: str,
        *,
        failures: list[ItemFailure],
        succeeded: list[str] | None = None,
        **kw: object,
    ) -> None:
        detail = "; ".join(f"{f.item_id}: {f.code or ''} {f.message}".strip() for f in failures[:10])
        more = f" (+{len(failures) - 10} more)" if len(failures) > 10 else ""
        super().__init__(f"{message}: {detail}{more}", **kw)  # type: ignore[arg-type]
        self.failures = failures
        self.succeeded = succeeded or []


@dataclass(frozen=True)
class Unrepresentable:
    """A value a system cannot hold (too long, too many, unknown). Never truncated: reported instead."""

    entity: str
    record: str
    field: str
    reason: str
    value: object = dc_field(default=None, compare=False)

    def __str__(self) -> str:
        return f"{self.entity} {self.record!r}: field {self.field!r} cannot be represented: {self.reason}"


class CannotRepresent(BridgeError):
    """Raised by an adapter asked to write a record it cannot hold without losing data."""

    def __init__(self, problems: list[Unrepresentable]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems
