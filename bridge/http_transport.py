"""An httpx transport on the standard library's :mod:`http.client`, with keep-alive connections.

Why not httpx's own (httpcore + h11): for the small JSON exchanges the bridge makes by the thousand, h11's
events and header validation and httpcore's pool bookkeeping were a quarter of the CPU of a request
(benchmarks/bench_http.py: 0.54 ms per POST, 0.40 with this transport). :mod:`http.client` reads an answer in
a few buffered reads and is kept with Python itself. httpx still does everything above the transport
(building requests, auth such as the CodeArts signer, cookies, event hooks, content decoding), so what a
caller sees does not change.

What it keeps of httpx's transport, because the HTTP layer relies on it:

- a connection is reused while it is alive and younger than ``keepalive_expiry`` seconds idle; before reuse it
  is polled for readability (without waiting): an idle connection that is readable was closed by the server
  (or holds bytes nobody asked for), so it is dropped, never written to. A POST written to a connection the
  server had already closed would fail as "maybe applied" and stop a create for nothing;
- TLS through the caller's :class:`ssl.SSLContext` (SNI and the host-name check come with it), or one the
  caller's function makes when the first https connection is opened: building one reads the CA bundle (20 ms
  of CPU), which a client of an http server never needs;
- connect, write and read timeouts from the request's ``timeout`` extension;
- failures raised as httpx's exceptions with the original error as ``__cause__``: ConnectError/ConnectTimeout
  when nothing was sent, WriteError/WriteTimeout/ReadError/ReadTimeout/RemoteProtocolError once it may have
  been. A TLS failure is a ConnectError caused by the :class:`ssl.SSLError`, as in httpcore;
- the answer's body streams: it is read piece by piece as the caller iterates (size limits and deadlines of
  :class:`bridge.http._BoundedStream` apply while it arrives), and it is not decoded here (httpx undoes gzip
  and the like from the headers).

Recording and mocking tools for httpx (vcrpy's cassettes, respx) work by replacing
``httpx.HTTPTransport.handle_request``; while one has, requests are handed to an httpx transport, so what
they record or replay is every request, as before. (vcrpy also swaps http.client's connection classes while
a cassette is open: the ones used here are bound when this module is imported, so they are never its stubs.)

Thread safety: the idle connections are kept under a lock, and a connection belongs to one request from
checkout until its answer is read or closed, so a transport may be shared. (HttpClient's sender pool lends
each request a client of its own anyway.)
"""

from __future__ import annotations

import http.client
import select
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx

#: what ``httpx.HTTPTransport.handle_request`` is when nobody has patched it
_HTTPX_HANDLE_REQUEST = httpx.HTTPTransport.handle_request
_HTTPConnection = http.client.HTTPConnection
_HTTPSConnection = http.client.HTTPSConnection

#: bytes asked for per read of an answer's body: an answer of the usual size arrives in one piece
_CHUNK = 64 * 1024
#: http.client's own limits on the header block: the length of a line and the number of lines
_MAX_LINE = 65536
_MAX_HEADERS = 100

Origin = tuple[str, str, int]


def environment_names_proxies() -> bool:
    """Whether httpx, given no transport, would mount proxies from the environment: the variables it reads
    (through urllib's getproxies) name one for http, https or all."""
    proxies = urllib.request.getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


class StdlibTransport(httpx.BaseTransport):
    """HTTP/1.1 over :mod:`http.client`, keeping up to ``max_keepalive`` idle connections per origin."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext | Callable[[], ssl.SSLContext],
        *,
        keepalive_expiry: float = 5.0,
        max_keepalive: int = 20,
    ) -> None:
        self._ssl_context = ssl_context
        self._keepalive_expiry = keepalive_expiry
        self._max_keepalive = max_keepalive
        self._lock = threading.Lock()
        #: idle connections per origin with the monotonic time each became idle, the most recent last
        self._idle: dict[Origin, list[tuple[http.client.HTTPConnection, float]]] = {}
        self._closed = False
        self._httpx: httpx.HTTPTransport | None = None

    # -- the request
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if httpx.HTTPTransport.handle_request is not _HTTPX_HANDLE_REQUEST:  # a cassette or a mock is on
            return self._httpx_transport().handle_request(request)
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}", request=request)
        origin = (scheme, url.host, url.port or (443 if scheme == "https" else 80))
        timeout: dict[str, float | None] = request.extensions.get("timeout", {})
        conn = self._checkout(origin) or self._connect(origin, timeout.get("connect"), request)
        try:
            self._send(conn, request, timeout.get("write"))
            response = self._answer(conn, request, timeout.get("read"))
        except BaseException:
            conn.close()
            raise
        reason = response.reason.encode("ascii", "replace") if response.reason else b""
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Body(self, origin, conn, response, request),
            extensions={
                "http_version": b"HTTP/1.1" if response.version == 11 else b"HTTP/1.0",
                "reason_phrase": reason,
            },
        )

    def _tls(self) -> ssl.SSLContext:
        with self._lock:
            if not isinstance(self._ssl_context, ssl.SSLContext):
                self._ssl_context = self._ssl_context()
            return self._ssl_context

    def _httpx_transport(self) -> httpx.HTTPTransport:
        tls = self._tls()
        with self._lock:
            if self._httpx is None:
                limits = httpx.Limits(
                    max_connections=100,
                    max_keepalive_connections=self._max_keepalive,
                    keepalive_expiry=self._keepalive_expiry,
                )
                self._httpx = httpx.HTTPTransport(verify=tls, limits=limits)
            return self._httpx

    def _connect(self, origin: Origin, timeout: float | None, request: httpx.Request) -> http.client.HTTPConnection:
        scheme, host, port = origin
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = _HTTPSConnection(host, port, timeout=timeout, context=self._tls())
        else:
            conn = _HTTPConnection(host, port, timeout=timeout)
        conn.response_class = _Response
        try:
            conn.connect()  # TCP (with TCP_NODELAY), then the TLS handshake within the same timeout
        except TimeoutError as exc:
            conn.close()
            raise httpx.ConnectTimeout(str(exc) or "timed out connecting", request=request) from exc
        except (OSError, UnicodeError) as exc:  # refused, unreachable, unknown host, TLS (ssl.SSLError)
            conn.close()
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        return conn

    @staticmethod
    def _send(conn: http.client.HTTPConnection, request: httpx.Request, timeout: float | None) -> None:
        body: bytes | Iterable[bytes] | None
        try:
            body = request.content or None
        except httpx.RequestNotRead:  # a streamed body (multipart uploads): written as it is iterated
            body = request.stream  # type: ignore[assignment]
        try:
            _set_timeout(conn, timeout)
            # Host (and Content-Length or Transfer-Encoding) are among httpx's headers already
            conn.putrequest(
                request.method, request.url.raw_path.decode("ascii"), skip_host=True, skip_accept_encoding=True
            )
            for name, value in request.headers.raw:
                conn.putheader(name, value)
            chunked = request.headers.get("Transfer-Encoding", "").lower() == "chunked"
            conn.endheaders(body, encode_chunked=chunked)
        except TimeoutError as exc:
            raise httpx.WriteTimeout(str(exc) or "timed out writing", request=request) from exc
        except OSError as exc:
            raise httpx.WriteError(str(exc) or type(exc).__name__, request=request) from exc
        except (http.client.HTTPException, ValueError) as exc:  # a header http.client refuses (CR/LF in it)
            raise httpx.LocalProtocolError(str(exc), request=request) from exc

    @staticmethod
    def _answer(conn: http.client.HTTPConnection, request: httpx.Request, timeout: float | None) -> _Response:
        try:
            _set_timeout(conn, timeout)
            response = conn.getresponse()
            assert isinstance(response, _Response)
            return response
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out reading", request=request) from exc
        except http.client.HTTPException as exc:  # RemoteDisconnected (no answer at all), a bad status line
            text = str(exc) or "Server disconnected without sending a response."
            raise httpx.RemoteProtocolError(text, request=request) from exc
        except OSError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc

    # -- the idle connections
    def _checkout(self, origin: Origin) -> http.client.HTTPConnection | None:
        """The most recently used idle connection that is still fit for a request, or None."""
        now = time.monotonic()
        while True:
            with self._lock:
                idle = self._idle.get(origin)
                if not idle:
                    return None
                conn, since = idle.pop()
            if now - since <= self._keepalive_expiry and not _readable(conn):
                return conn
            conn.close()  # expired, or the server closed it (or sent what nobody asked for)

    def _release(self, origin: Origin, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self._closed:
                idle = self._idle.setdefault(origin, [])
                if len(idle) < self._max_keepalive:
                    idle.append((conn, time.monotonic()))
                    return
        conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for conn, _ in connections:
                conn.close()
        if self._httpx is not None:
            self._httpx.close()


class _HeadersCutShort(http.client.HTTPException):
    """The connection ended inside an answer's header block."""


class _Response(http.client.HTTPResponse):
    """http.client's answer with the header block read here rather than by the email package's parser, which
    costs several times all the rest of reading a small answer. Two differences, both as h11 (httpx's own
    transport) behaves: an answer cut off inside its headers is an error (http.client takes the end of the
    connection for the end of the headers, and would hand on a bodiless 200), and values are stripped of the
    white space around them. :attr:`raw_headers` keeps the bytes as they came, for httpx."""

    raw_headers: list[tuple[bytes, bytes]]

    def begin(self) -> None:
        # http.client's own begin(), with _read_header_block() for parse_headers(); _read_status() is its own
        if self.headers is not None:
            return
        while True:
            version, status, reason = self._read_status()  # type: ignore[attr-defined]
            if status != http.client.CONTINUE:
                break
            _read_header_block(self.fp)  # the headers of an interim "100 Continue"
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.raw_headers = _read_header_block(self.fp)
        message = http.client.HTTPMessage()
        for name, value in self.raw_headers:  # http.client's own reads (framing, keep-alive) look here
            message[name.decode("latin-1")] = value.decode("latin-1")
        self.headers = self.msg = message
        transfer_encoding = message.get("transfer-encoding")
        self.chunked = bool(transfer_encoding and transfer_encoding.lower() == "chunked")  # type: ignore[assignment]
        self.chunk_left = None
        self.will_close = self._check_close()  # type: ignore[attr-defined]
        self.length = None
        length = message.get("content-length")
        if length and not self.chunked:
            try:
                self.length = int(length)
            except ValueError:
                self.length = None
            else:
                if self.length < 0:
                    self.length = None
        if status in (204, 304) or 100 <= status < 200 or self._method == "HEAD":  # type: ignore[attr-defined]
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True  # the body ends when the connection does


def _read_header_block(fp: Any) -> list[tuple[bytes, bytes]]:
    """The header lines up to the empty line, as (name, value) bytes; a folded line continues the one before."""
    headers: list[tuple[bytes, bytes]] = []
    while True:
        line = fp.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise http.client.LineTooLong("header line")
        if line in (b"\r\n", b"\n"):
            return headers
        if not line:
            raise _HeadersCutShort("the server closed the connection inside the answer's headers")
        if line[0] in b" \t" and headers:  # obsolete line folding: one value, joined by a space
            name, value = headers.pop()
            headers.append((name, value + b" " + line.strip()))
            continue
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise http.client.HTTPException(f"a malformed header line: {line[:100]!r}")
        headers.append((name, value.strip()))
        if len(headers) > _MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {_MAX_HEADERS} headers")


class _Body(httpx.SyncByteStream):
    """An answer's body as it arrives; the connection goes back to the transport once the body was read whole."""

    def __init__(
        self,
        transport: StdlibTransport,
        origin: Origin,
        conn: http.client.HTTPConnection,
        response: _Response,
        request: httpx.Request,
    ) -> None:
        self._transport = transport
        self._origin = origin
        self._conn: http.client.HTTPConnection | None = conn
        self._response = response
        self._request = request
        self._complete = False

    def __iter__(self) -> Iterator[bytes]:
        response = self._response
        try:
            while chunk := response.read1(_CHUNK):  # returns what has arrived, waiting only when nothing has
                yield chunk
            if response.length:  # http.client stops at end of file without a word: a Content-Length not met
                raise http.client.IncompleteRead(b"", response.length)
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out reading", request=self._request) from exc
        except http.client.HTTPException as exc:  # IncompleteRead: the server closed before the body's end
            raise httpx.RemoteProtocolError(
                f"peer closed connection without sending complete message body ({exc!r})", request=self._request
            ) from exc
        except OSError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=self._request) from exc
        self._complete = True

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        response = self._response
        response.close()
        if self._complete and not response.will_close and conn.sock is not None:
            self._transport._release(self._origin, conn)
        else:  # not read to its end (an error, a refused answer) or the server closes it: never reused
            conn.close()


def _set_timeout(conn: http.client.HTTPConnection, timeout: float | None) -> None:
    sock: Any = conn.sock
    if sock.gettimeout() != timeout:  # each change is a system call: most requests keep the same timeouts
        sock.settimeout(timeout)


def _readable(conn: http.client.HTTPConnection) -> bool:
    """True when an idle connection has something to read: the server closed it (end of file) or sent bytes
    that answer nothing. Either way it is not fit for another request. A closed socket counts as readable."""
    sock = conn.sock
    if sock is None:
        return True
    if isinstance(sock, ssl.SSLSocket) and sock.pending():  # decrypted already, so invisible to poll
        return True
    try:
        if not hasattr(select, "poll"):  # Windows: select() has no limit on descriptor numbers there
            return bool(select.select([sock], [], [], 0)[0])
        poller = select.poll()  # not select(): it refuses descriptors beyond 1023, which a busy daemon may use
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True
