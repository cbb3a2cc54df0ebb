"""The httpx client :class:`bridge.http.HttpClient` builds and sends requests through, with what httpx does for
every request made cheap, all without changing what is sent or received:

- the base URL joined with a request's url, parsed once per distinct url (:class:`UrlJoiner`): httpx parses
  and percent-checks both, character by character, for every request, about half of building one, and most
  requests of a run go to a handful of urls (the creates of a migration, all to one);
- cookies looked at only in answers that set one (:class:`SenderClient`): httpx wraps every answer and its
  request in urllib's types for :mod:`http.cookiejar`, which then finds no ``Set-Cookie`` in an API's answer;
- a request with a JSON body, raw bytes or no body and nothing else of its own (no params, headers, cookies,
  form data or files: every create and update the adapters send) built in one step: httpx merges the
  client's headers and cookies into new objects, encodes the body with a JSON encoder made per call, then
  rebuilds the headers once more to add Host and Content-Length. The same header list, in the same order, and
  the same bytes, made once (:meth:`SenderClient.build_request`);
- a request sent straight to the bridge's own transport when the client has nothing for httpx's send loop to
  do (no auth, no request hooks, redirects not followed): the auth flow, the redirect loop and the
  stream wrappers around the transport are a generator and three calls per request. The answer is what
  httpx's send makes of it: its request, response hooks, cookies, default encoding, ``next_request`` for a
  redirect, ``elapsed``, the body read (:meth:`SenderClient.send`).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from typing import Any

import httpx

from bridge.http_transport import StdlibTransport

#: distinct urls remembered per client; beyond it the memory starts over (urls with ids in them, read once)
URL_CACHE_SIZE = 2048

#: what httpx's encode_json writes (the same options), built once: json.dumps with options builds an encoder
#: per call
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_BODY_METHODS = ("POST", "PUT", "PATCH")
_HTTPX_LOG = logging.getLogger("httpx")


class UrlJoiner:
    """``base_url`` joined with relative urls the way httpx's Client does it, remembering each result."""

    def __init__(self, base_url: httpx.URL) -> None:
        self._base = base_url
        self._joined: dict[str, httpx.URL] = {}

    def __call__(self, url: str) -> httpx.URL:
        joined = self._joined.get(url)
        if joined is None:
            if len(self._joined) >= URL_CACHE_SIZE:
                self._joined.clear()  # threads may race here: at worst a url is joined twice, both the same
            joined = self._joined[url] = self._join(url)
        return joined

    def _join(self, url: str) -> httpx.URL:
        # httpx's BaseClient._merge_url: the path is appended to the base's (which httpx ends with a "/"),
        # whatever it starts with; an absolute url is taken as it is
        parsed = httpx.URL(url)
        if not parsed.is_relative_url:
            return parsed
        return self._base.copy_with(raw_path=self._base.raw_path + parsed.raw_path.lstrip(b"/"))


class _AnswerCookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        # http.cookiejar takes cookies from Set-Cookie only (Set-Cookie2 is off in its default policy)
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class SenderClient(httpx.Client):
    """An httpx.Client whose cookie jar skips answers that set no cookie, which builds plain requests in one
    step and sends them straight to a :class:`StdlibTransport` it was given (see the module docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        transport = kwargs.get("transport")
        super().__init__(**kwargs)
        self._answer_cookies = _AnswerCookies(super().cookies)
        # with a transport given, httpx mounts no proxies: every request goes to it
        self._direct = transport if isinstance(transport, StdlibTransport) else None

    @property
    def cookies(self) -> httpx.Cookies:
        return self._answer_cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:  # what httpx.Cookies() takes
        self._answer_cookies = _AnswerCookies(cookies)

    def build_request(  # type: ignore[override]
        self,
        method: str,
        url: httpx.URL | str,
        *,
        content: bytes | str | None = None,
        json: Any = None,
        **others: Any,
    ) -> httpx.Request:
        if any(v is not None for v in others.values()) or self._answer_cookies or self.params:
            return super().build_request(method, url, content=content, json=json, **others)
        # what httpx does for this request (Client.build_request, then Request's encode_request and _prepare):
        # the body's headers after the client's, Host (and Content-Length 0 for a bodiless write) before them
        target = self._merge_url(url)
        method = method.upper()
        raw = self.headers.raw
        named = {key.lower() for key, _ in raw}
        if content is not None:
            body = content.encode("utf-8") if isinstance(content, str) else content
            encoded = [(b"Content-Length", str(len(body)).encode("ascii"))] if body else []
        elif json is not None:
            body = _JSON.encode(json).encode("utf-8")
            encoded = [(b"Content-Length", str(len(body)).encode("ascii")), (b"Content-Type", b"application/json")]
        else:
            body, encoded = b"", []
        # the body's headers where the client has none of that name (httpx's setdefault)
        raw += [(key, value) for key, value in encoded if key.lower() not in named]
        named.update(key.lower() for key, _ in encoded)
        first = [(b"Host", target.netloc)] if b"host" not in named and target.host else []
        if method in _BODY_METHODS and not named & {b"content-length", b"transfer-encoding"}:
            first.append((b"Content-Length", b"0"))
        request = httpx.Request(
            method,
            target,
            headers=first + raw,
            stream=httpx.ByteStream(body),
            extensions={"timeout": self.timeout.as_dict()},
        )
        request.read()  # (a ByteStream: takes its bytes, as Request does for a body it encoded)
        return request

    def send(  # type: ignore[override]
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: Any = httpx.USE_CLIENT_DEFAULT,
        follow_redirects: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        transport = self._direct
        if (
            transport is None
            or stream
            or auth is not httpx.USE_CLIENT_DEFAULT
            or follow_redirects is not httpx.USE_CLIENT_DEFAULT
            or self.follow_redirects
            or self.auth is not None
            or request.url.userinfo  # httpx would make it basic auth
            or self.event_hooks["request"]
            or self.is_closed
        ):
            return super().send(request, stream=stream, auth=auth, follow_redirects=follow_redirects)
        self._set_timeout(request)
        started = time.perf_counter()
        response = transport.handle_request(request)
        try:
            # in the order of httpx's _send_single_request, _send_handling_redirects and send
            response.request = request
            self._answer_cookies.extract_cookies(response)
            response.default_encoding = self._default_encoding
            if _HTTPX_LOG.isEnabledFor(logging.INFO):
                _HTTPX_LOG.info(
                    'HTTP Request: %s %s "%s %d %s"',
                    request.method,
                    request.url,
                    response.http_version,
                    response.status_code,
                    response.reason_phrase,
                )
            for hook in self.event_hooks["response"]:
                hook(response)
            if response.has_redirect_location:
                response.next_request = self._build_redirect_request(request, response)
            response.read()
        except BaseException:
            response.close()
            raise
        response.elapsed = timedelta(seconds=time.perf_counter() - started)
        return response
