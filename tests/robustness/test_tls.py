"""A certificate the client does not trust: one attempt, a message that says what to do, nothing retried."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.errors import NotSent, TlsError
from bridge.http import HttpClient, HttpSettings, RequestStats

TLS = Path(__file__).resolve().parents[1] / "fixtures" / "tls"
CERT = TLS / "test-only-cert.pem"  # self-signed for 127.0.0.1, valid for a century; made for these tests only


class TlsServer:
    """HTTPS on loopback with the self-signed certificate; counts every TCP connection it accepts."""

    def __init__(self) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(CERT, TLS / "test-only-key.pem")
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            try:
                with self.context.wrap_socket(raw, server_side=True) as conn:
                    conn.recv(65536)
                    body = b'{"ok": true}'
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
            except (ssl.SSLError, OSError):
                pass  # the client refused our certificate and hung up

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def tls_server() -> Iterator[TlsServer]:
    server = TlsServer()
    yield server
    server.close()


def client(url: str) -> HttpClient:
    settings = HttpSettings(base_url=url, max_retries=5, backoff_initial=0.01, backoff_max=0.02, timeout=5)
    return HttpClient("testrail", settings, stats=RequestStats())


def test_an_untrusted_certificate_is_not_retried_and_says_what_to_do(
    tls_server: TlsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with client(f"https://127.0.0.1:{tls_server.port}") as http:
        with pytest.raises(TlsError) as info:
            http.get("/index.php")
        with pytest.raises(NotSent):
            http.get("/again")
    assert tls_server.connections == 1  # five retries were allowed; a certificate is refused the same way again
    text = str(info.value)
    assert "CERTIFICATE_VERIFY_FAILED" in text and "SSL_CERT_FILE" in text and "verify_tls = false" in text
    assert not info.value.maybe_applied


def test_the_same_server_answers_once_its_certificate_is_trusted(
    tls_server: TlsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the message advises works: the failure above was the certificate, not the server."""
    monkeypatch.setenv("SSL_CERT_FILE", str(CERT))
    with client(f"https://127.0.0.1:{tls_server.port}") as http:
        assert http.json(http.get("/index.php"), dict) == {"ok": True}


def test_with_verification_off_the_same_server_answers(tls_server: TlsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    settings = HttpSettings(base_url=f"https://127.0.0.1:{tls_server.port}", verify_tls=False, timeout=5)
    with HttpClient("testrail", settings, stats=RequestStats()) as http:
        assert http.json(http.get("/index.php"), dict) == {"ok": True}


def test_a_trusted_certificate_for_another_host_name_is_refused(
    tls_server: TlsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The certificate is trusted but names 127.0.0.1: reached as "localhost", the host name check refuses it."""
    monkeypatch.setenv("SSL_CERT_FILE", str(CERT))
    with client(f"https://localhost:{tls_server.port}") as http, pytest.raises(TlsError) as info:
        http.get("/index.php")
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value) and "localhost" in str(info.value)
