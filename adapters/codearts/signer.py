"""Huawei Cloud ``SDK-HMAC-SHA256`` request signing (AK/SK), as an :class:`httpx.Auth`.

Byte-identical to ``huaweicloudsdkcore.signer.Signer`` for the same request (tests compare the two), but
without depending on the Huawei SDK at run time. Self-contained on purpose: CodeArts TestPlan and PerfTest
share it, and the simulators use :func:`verify` to check what clients send.

The algorithm (what the API gateway recomputes):

1. ``X-Sdk-Date`` = UTC ``%Y%m%dT%H%M%SZ``; ``Host`` = the netloc, port included when not the default.
2. Signed headers: every header whose name has no underscore, lower-cased and sorted; values stripped.
3. Canonical request: method, canonical URI (the path unquoted, each segment quoted with safe ``~``, with a
   trailing ``/``), canonical query (sorted (key, value) pairs, both quoted with safe ``~``), the canonical
   headers, the signed header list and the hex SHA-256 of the body (of nothing when there is no body;
   ``UNSIGNED-PAYLOAD`` when the body is not JSON).
4. String to sign: ``SDK-HMAC-SHA256\\n<date>\\n<hex sha256 of the canonical request>``.
5. ``Authorization: SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<h1;h2>, Signature=<hex hmac(SK, ...)>``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Generator, Iterable, Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, unquote

import httpx

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
HEADER_DATE = "X-Sdk-Date"
HEADER_CONTENT_SHA = "X-Sdk-Content-Sha256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_HASH = hashlib.sha256(b"").hexdigest()

#: headers a proxy or the transport may add, drop or rewrite on the way; signing them makes a valid request
#: fail verification, so they are sent unsigned (the gateway only checks what SignedHeaders names)
UNSIGNED_HEADERS = frozenset({"authorization", "connection", "content-length", "accept-encoding", "transfer-encoding"})


def _quote(value: str) -> str:
    return quote(value, safe="~")


def canonical_uri(raw_path: str) -> str:
    """The path unquoted, each segment quoted again with safe ``~``, always ending in ``/``."""
    path = "/".join(_quote(segment) for segment in unquote(raw_path).split("/"))
    return path if path.endswith("/") else path + "/"


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Sorted ``key=value`` pairs, both quoted with safe ``~`` (the SDK sorts the raw pairs, then quotes)."""
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(pairs))


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """Decoded (key, value) pairs of a raw query string (``+`` is a space, as httpx encodes it)."""
    return parse_qsl(raw_query, keep_blank_values=True)


def body_hash(body: bytes, headers: Mapping[str, str]) -> str:
    if not body:
        return EMPTY_HASH
    for name, value in headers.items():
        if name.lower() == HEADER_CONTENT_SHA.lower():
            return value
    return hashlib.sha256(body).hexdigest()


def signed_header_names(headers: Iterable[str]) -> list[str]:
    return sorted({name.lower() for name in headers if "_" not in name and name.lower() not in UNSIGNED_HEADERS})


def canonical_request(
    method: str,
    raw_path: str,
    pairs: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed: list[str],
    body: bytes,
) -> str:
    lowered = {k.lower(): v.strip() for k, v in headers.items()}
    canonical_headers = "".join(f"{name}:{lowered.get(name, '')}\n" for name in signed)
    return "\n".join(
        [
            method.upper(),
            canonical_uri(raw_path),
            canonical_query(pairs),
            canonical_headers,
            ";".join(signed),
            body_hash(body, headers),
        ]
    )


def string_to_sign(canonical: str, sdk_date: str) -> str:
    return f"{ALGORITHM}\n{sdk_date}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"


def signature(sk: str, to_sign: str) -> str:
    return hmac.new(sk.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization(
    ak: str, sk: str, method: str, raw_path: str, raw_query: str, headers: Mapping[str, str], body: bytes
) -> str:
    """The ``Authorization`` value for a request whose headers already hold ``X-Sdk-Date`` and ``Host``."""
    signed = signed_header_names(headers)
    canonical = canonical_request(method, raw_path, query_pairs(raw_query), headers, signed, body)
    sdk_date = next(v for k, v in headers.items() if k.lower() == HEADER_DATE.lower())
    sig = signature(sk, string_to_sign(canonical, sdk_date))
    return f"{ALGORITHM} Access={ak}, SignedHeaders={';'.join(signed)}, Signature={sig}"


def sdk_date(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime(DATE_FORMAT)


class AkSkAuth(httpx.Auth):
    """Signs every request with ``SDK-HMAC-SHA256``. ``project_id`` adds ``X-Project-Id`` as the SDK does."""

    def __init__(
        self,
        ak: str,
        sk: str,
        *,
        project_id: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.ak = ak
        self._sk = sk
        self.project_id = project_id
        self._clock = clock

    def sign(self, request: httpx.Request) -> None:
        if self.project_id and "X-Project-Id" not in request.headers:
            request.headers["X-Project-Id"] = self.project_id
        content_type = request.headers.get("Content-Type", "")
        if content_type and not content_type.startswith(("application/json", "application/bson")):
            request.headers[HEADER_CONTENT_SHA] = UNSIGNED_PAYLOAD
        request.headers[HEADER_DATE] = sdk_date(self._clock())
        # httpx always sets Host from the URL (the port only when it is not the scheme's default), as the SDK does
        headers = {k: v for k, v in request.headers.items()}
        body = request.read()
        raw_path, _, raw_query = request.url.raw_path.decode("ascii").partition("?")
        request.headers["Authorization"] = authorization(
            self.ak, self._sk, request.method, raw_path, raw_query, headers, body
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        # re-signed on every send, so a retried request carries a fresh date
        self.sign(request)
        yield request


# ------------------------------------------------------------------------------------------ verification


class SignatureError(Exception):
    """Why a signed request was refused (used by the simulators)."""


def parse_authorization(value: str) -> dict[str, str]:
    if not value.startswith(ALGORITHM + " "):
        raise SignatureError("unsupported authorization algorithm")
    parts: dict[str, str] = {}
    for item in value[len(ALGORITHM) + 1 :].split(","):
        key, _, val = item.strip().partition("=")
        parts[key] = val
    if not {"Access", "SignedHeaders", "Signature"} <= parts.keys():
        raise SignatureError("malformed authorization header")
    return parts


def verify(
    secret_for: Callable[[str], str | None],
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime | None = None,
    max_skew_seconds: float = 15 * 60,
) -> str:
    """Check a signed request the way the gateway does; returns the AK or raises :class:`SignatureError`."""
    lowered = {k.lower(): v for k, v in headers.items()}
    parts = parse_authorization(lowered.get("authorization", ""))
    sk = secret_for(parts["Access"])
    if sk is None:
        raise SignatureError("unknown access key")
    date_value = lowered.get(HEADER_DATE.lower())
    if not date_value:
        raise SignatureError("missing X-Sdk-Date")
    try:
        when = datetime.strptime(date_value, DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise SignatureError("malformed X-Sdk-Date") from None
    if abs(((now or datetime.now(UTC)) - when).total_seconds()) > max_skew_seconds:
        raise SignatureError("request date is more than 15 minutes off")
    signed = parts["SignedHeaders"].split(";")
    if "host" not in signed or HEADER_DATE.lower() not in signed:
        raise SignatureError("host and x-sdk-date must be signed")
    subset = {name: lowered.get(name, "") for name in signed}
    canonical = canonical_request(method, raw_path, query_pairs(raw_query), subset, signed, body)
    expected = signature(sk, string_to_sign(canonical, date_value))
    if not hmac.compare_digest(expected, parts["Signature"]):
        raise SignatureError("signature mismatch")
    return parts["Access"]
