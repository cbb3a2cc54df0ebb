"""The Huawei Cloud API gateway's check of ``SDK-HMAC-SHA256`` signatures, as the simulators perform it.

Written from the reference notes on the gateway (not from the client's signer, so a test through a simulator
compares two readings of the algorithm): the gateway takes the header names the request says it signed,
rebuilds the canonical request from what it received, and compares HMAC-SHA256(SK, string to sign).

- canonical URI: the path percent-decoded, each ``/`` segment percent-encoded again (unreserved characters
  and ``~`` kept), with a ``/`` at the end;
- canonical query: the decoded (key, value) pairs (``+`` is a space), sorted, each part encoded the same way,
  joined with ``&``;
- canonical headers: ``name:value`` per signed header (lower-case name, value stripped), each line ending in
  ``\\n``, then the signed names joined with ``;``;
- payload: hex SHA-256 of the body, of nothing for an empty body, or the ``X-Sdk-Content-Sha256`` header's
  value (``UNSIGNED-PAYLOAD``) when the client sent it;
- string to sign: ``SDK-HMAC-SHA256``, the ``X-Sdk-Date``, the hex SHA-256 of the canonical request, one per
  line. ``Host`` and ``X-Sdk-Date`` must be signed; a date more than 15 minutes off is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, unquote

SCHEME = "SDK-HMAC-SHA256"
MAX_SKEW_SECONDS = 15 * 60
_AUTH = re.compile(r"^SDK-HMAC-SHA256\s+(?P<params>.+)$")


class GatewayRefusal(Exception):
    """Why the gateway answers 401 to a signed request."""


def _encode(part: str) -> str:
    return quote(part, safe="~")  # RFC 3986 unreserved characters stay as they are


def _uri(raw_path: str) -> str:
    encoded = "/".join(_encode(seg) for seg in unquote(raw_path).split("/"))
    return encoded + ("" if encoded.endswith("/") else "/")


def _query(raw_query: str) -> str:
    pairs = sorted(parse_qsl(raw_query, keep_blank_values=True))
    return "&".join(_encode(k) + "=" + _encode(v) for k, v in pairs)


def _params(authorization: str) -> dict[str, str]:
    found = _AUTH.match(authorization.strip())
    if not found:
        raise GatewayRefusal("unsupported authorization algorithm")
    params = dict(p.strip().split("=", 1) for p in found.group("params").split(",") if "=" in p)
    for key in ("Access", "SignedHeaders", "Signature"):
        if key not in params:
            raise GatewayRefusal("malformed authorization header")
    return params


def check_signature(
    secret_of: Callable[[str], str | None],
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime | None = None,
) -> str:
    """The access key of a correctly signed request; :class:`GatewayRefusal` otherwise."""
    received = {name.lower(): value for name, value in headers.items()}
    params = _params(received.get("authorization", ""))
    secret = secret_of(params["Access"])
    if secret is None:
        raise GatewayRefusal("unknown access key")
    stamp = received.get("x-sdk-date", "")
    if not stamp:
        raise GatewayRefusal("missing X-Sdk-Date")
    try:
        sent_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise GatewayRefusal("malformed X-Sdk-Date") from None
    if abs(((now or datetime.now(UTC)) - sent_at).total_seconds()) > MAX_SKEW_SECONDS:
        raise GatewayRefusal("request date is more than 15 minutes off")
    names = params["SignedHeaders"].split(";")
    if "host" not in names or "x-sdk-date" not in names:
        raise GatewayRefusal("host and x-sdk-date must be signed")
    if not body:
        payload = hashlib.sha256(b"").hexdigest()
    else:
        payload = received.get("x-sdk-content-sha256") or hashlib.sha256(body).hexdigest()
    lines = [method.upper(), _uri(raw_path), _query(raw_query)]
    lines.append("".join(f"{n}:{received.get(n, '').strip()}\n" for n in names))
    lines += [";".join(names), payload]
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    wanted = hmac.new(secret.encode(), f"{SCHEME}\n{stamp}\n{digest}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(wanted, params["Signature"]):
        raise GatewayRefusal("signature mismatch")
    return params["Access"]
