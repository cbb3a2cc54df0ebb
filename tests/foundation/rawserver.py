"""An HTTP/1.1 server on a bare socket, for the transport's tests: each answer is written byte for byte by the
test, so it can do what a well-behaved server framework never does (close a kept-alive connection between
two requests, stop in the middle of a body, leave a HEAD's body out while announcing its length).

``answer(request)`` returns the raw bytes to send, or None to close the connection without answering; a
request carries the number of the connection it came on, so a test sees which requests shared one.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class RawRequest:
    connection: int
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    data: bytes | None
    #: close the connection after writing ``data`` (it is kept open for the next request otherwise)
    close: bool = False
    #: seconds to wait before closing (with ``close``), so the client has the answer well before
    close_after: float = 0.0


def ok(body: bytes = b'{"ok": true}', *, headers: str = "", close: bool = False) -> Answer:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{headers}\r\n"
    return Answer(head.encode() + body, close=close)


@dataclass
class RawServer:
    answer: Callable[[RawRequest], Answer]
    requests: list[RawRequest] = field(default_factory=list)
    connections: int = 0
    #: connections whose client hung up (end of file while waiting for a request)
    hung_up: int = 0

    def __post_init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                number = self.connections
            threading.Thread(target=self._serve, args=(conn, number), daemon=True).start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        with conn, conn.makefile("rb") as rfile:
            while True:
                line = rfile.readline()
                if not line:
                    with self.lock:
                        self.hung_up += 1
                    return
                method, target, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (header := rfile.readline()) not in (b"\r\n", b"\n", b""):
                    name, value = header.decode("latin-1").split(":", 1)
                    headers[name.strip().lower()] = value.strip()
                body = rfile.read(int(headers.get("content-length", "0")))
                request = RawRequest(number, method, target, headers, body)
                with self.lock:
                    self.requests.append(request)
                answer = self.answer(request)
                if answer.data is None:
                    return
                conn.sendall(answer.data)
                if answer.close:
                    if answer.close_after:
                        threading.Event().wait(answer.close_after)
                    conn.shutdown(socket.SHUT_RDWR)
                    return

    def close(self) -> None:
        self.sock.close()
