"""IAM password-token authentication for Huawei Cloud APIs, as an :class:`httpx.Auth`.

``POST <iam_url>/v3/auth/tokens`` with the user's name, password and account (domain), scoped to a project,
answers 201 with the token in the ``X-Subject-Token`` header and ``token.expires_at`` in the body. Tokens
live 24 hours; IAM limits how often they may be fetched, so the token is cached and renewed only shortly
before it expires. A 401 ``CLOUDTEST.00050001`` ("token expired": revoked, or clocks disagree) renews it
once and repeats the request.

Self-contained (CodeArts TestPlan and PerfTest share it): the token request uses its own small httpx
client, so it never recurses into the authenticated client.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Generator
from datetime import datetime

import httpx

from bridge.errors import AuthError, TransportError
from bridge.redact import register_secret

TOKEN_EXPIRED_CODES = frozenset({"CLOUDTEST.00050001", "APIG.1002"})
#: renew this long before expiry (bounded to a tenth of the token's lifetime for short-lived test tokens)
REFRESH_MARGIN_SECONDS = 3600.0


def token_request_body(
    user: str, password: str, domain: str, *, project_id: str | None = None, project_name: str | None = None
) -> dict[str, object]:
    scope: dict[str, object]
    if project_id:
        scope = {"project": {"id": project_id}}
    elif project_name:
        scope = {"project": {"name": project_name}}
    else:
        scope = {"domain": {"name": domain}}
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": user, "password": password, "domain": {"name": domain}}},
            },
            "scope": scope,
        }
    }


def is_token_expired(response: httpx.Response) -> bool:
    if response.status_code != 401:
        return False
    try:
        body = json.loads(response.content or b"{}")
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("error_code") in TOKEN_EXPIRED_CODES


class IamTokenAuth(httpx.Auth):
    """Adds ``X-Auth-Token``; fetches, caches and renews the token (thread-safe)."""

    requires_response_body = True

    def __init__(
        self,
        iam_url: str,
        user: str,
        password: str,
        domain: str,
        *,
        project_id: str | None = None,
        project_name: str | None = None,
        timeout: float = 30.0,
        verify_tls: bool = True,
        refresh_margin: float = REFRESH_MARGIN_SECONDS,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        register_secret(password)
        self.iam_url = iam_url.rstrip("/")
        self._body = token_request_body(user, password, domain, project_id=project_id, project_name=project_name)
        self._timeout = timeout
        self._verify = verify_tls
        self._transport = transport
        self.refresh_margin = refresh_margin
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        #: how many tokens were fetched (tests and benchmarks read it)
        self.fetches = 0

    def token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (if it is still the cached one: another thread may have renewed it already)."""
        with self._lock:
            if self._token == token:
                self._token = None

    def _fetch(self) -> None:
        url = f"{self.iam_url}/v3/auth/tokens"
        try:
            with httpx.Client(timeout=self._timeout, verify=self._verify, transport=self._transport) as client:
                response = client.post(url, json=self._body)
        except httpx.TransportError as exc:
            raise TransportError(
                f"IAM did not answer: {type(exc).__name__}", system="iam", method="POST", route="/v3/auth/tokens"
            ) from None
        token = response.headers.get("X-Subject-Token")
        if response.status_code not in (200, 201) or not token:
            raise AuthError(
                _iam_message(response),
                system="iam",
                method="POST",
                route="/v3/auth/tokens",
                status=response.status_code,
                hint="Check iam_user, iam_password, iam_domain and iam_url (the IAM endpoint of the region).",
            )
        register_secret(token)
        now = self._clock()
        lifetime = _lifetime(response, now)
        self.fetches += 1
        self._token = token
        self._renew_at = now + lifetime - min(self.refresh_margin, lifetime / 10)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.token()
        request.headers["X-Auth-Token"] = token
        response = yield request
        if is_token_expired(response):
            self.invalidate(token)
            request.headers["X-Auth-Token"] = self.token()
            yield request


def _lifetime(response: httpx.Response, now: float) -> float:
    """Seconds the token is valid, from ``token.expires_at`` (24 h when the body does not say)."""
    try:
        expires = response.json()["token"]["expires_at"]
        when = datetime.fromisoformat(expires.replace("Z", "+00:00"))
        return max(1.0, when.timestamp() - now)
    except (ValueError, KeyError, TypeError):
        return 24 * 3600.0


def _iam_message(response: httpx.Response) -> str:
    try:
        body = response.json()
        error = body.get("error", body)
        return str(error.get("message") or error.get("error_msg") or response.reason_phrase)
    except ValueError:
        return response.reason_phrase or f"HTTP {response.status_code}"
