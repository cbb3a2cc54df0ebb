"""Fixtures of the foundation tests: the scripted loopback server, and a guard for process-wide logging."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from adapters.simulation import LoopbackServer

from .loopback import Script, build_app


@pytest.fixture(scope="session")
def _server() -> Iterator[tuple[LoopbackServer, Script]]:
    script = Script()
    with LoopbackServer(build_app(script)).start() as server:
        yield server, script


@pytest.fixture
def script(_server: tuple[LoopbackServer, Script]) -> Iterator[Script]:
    _server[1].reset()
    yield _server[1]
    _server[1].reset()


@pytest.fixture
def server_url(_server: tuple[LoopbackServer, Script]) -> str:
    return _server[0].url


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide loggers; put them back for the tests that follow."""
    names = ("bridge", "adapters", "mappings")
    saved = {
        n: (list(logging.getLogger(n).handlers), logging.getLogger(n).level, logging.getLogger(n).propagate)
        for n in names
    }
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        for handler in handlers:
            logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
