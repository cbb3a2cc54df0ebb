"""Plain HTTP requests and answers for the review pages, and the checks every request passes.

The pages are served by the standard library's HTTP server (``testplan-bridge ui``) or by the daemon's
health server on its port; both hand a :class:`Request` to :meth:`bridge.review.app.ReviewApp.handle`.

Safety:
- a token (``[ui] token``) is required on any address but loopback; a request gives it once as
  ``?token=`` (answered with a cookie and a redirect that drops it from the address) or as
  ``Authorization: Bearer``; it is compared in constant time and never logged or shown;
- a form is accepted only with the form token the page carried (an HMAC of a per-process secret) and, when
  the browser sends one, an ``Origin`` equal to the page's own; ``Sec-Fetch-Site: cross-site`` is refused;
- every answer forbids framing, scripts, caching and sending the address to other sites as a referrer.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

COOKIE = "tpb_ui"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on the forms, which the
    # cross-site check must refuse; other sites still get no referrer (and the links say rel=noreferrer)
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass
class Request:
    method: str
    target: str  # path and query as sent
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""

    @property
    def path(self) -> str:
        return urlsplit(self.target).path or "/"

    @property
    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.target).query).items()}

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True).items()}

    def cookie(self, name: str) -> str | None:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(self.headers.get("cookie", ""))
        except Exception:  # a malformed cookie header is no cookie
            return None
        morsel = jar.get(name)
        return morsel.value if morsel is not None else None


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    def all_headers(self) -> dict[str, str]:
        return {"Content-Type": self.content_type, **SECURITY_HEADERS, **self.headers}


def redirect(location: str, **headers: str) -> Response:
    return Response(303, b"", headers={"Location": location, **headers})


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Guard:
    """The token and cross-site checks; ``token`` None: no token asked (loopback only)."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        self._form_key = secrets.token_bytes(32)

    def form_token(self) -> str:
        # one per process: forms stay valid while the server runs; a foreign page cannot read it
        return hmac.new(self._form_key, b"review-form", hashlib.sha256).hexdigest()

    def authorized(self, req: Request) -> bool:
        if self.token is None:
            return True
        given = req.cookie(COOKIE) or req.query.get("token")
        auth = req.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def cross_site_problem(self, req: Request, form: dict[str, str]) -> str | None:
        """Why a form must be refused, or None."""
        if req.headers.get("sec-fetch-site") == "cross-site":
            return "the form was sent from another site"
        origin = req.headers.get("origin")
        host = req.headers.get("host", "")
        if origin is not None and origin != "null" and urlsplit(origin).netloc != host:
            return "the form was sent from another site"
        if origin == "null":
            return "the form was sent from a page without an origin"
        if not hmac.compare_digest(form.get("csrf", "").encode(), self.form_token().encode()):
            return "the form is out of date or was not made by this page; reload the page and try again"
        return None
