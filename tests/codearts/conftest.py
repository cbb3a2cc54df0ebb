from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.codearts.adapter import CodeArtsAdapter
from adapters.codearts.settings import CodeArtsSettings
from adapters.codearts.simulator import CodeArtsSimulator
from adapters.registry import create_adapter


@pytest.fixture
def sim() -> CodeArtsSimulator:
    return CodeArtsSimulator(seed=7)


@pytest.fixture
def server(sim: CodeArtsSimulator) -> Iterator[object]:
    with sim.serve() as srv:
        yield srv


def make_adapter(url: str, creds: dict[str, object], **extra: object) -> CodeArtsAdapter:
    # these tests are about the custom-service mode (the native library has tests of its own)
    settings = CodeArtsSettings(url=url, max_retries=3, **{"mode": "custom-service", **creds, **extra})
    adapter = create_adapter("ca", settings)
    assert isinstance(adapter, CodeArtsAdapter)
    return adapter


@pytest.fixture
def adapter(sim: CodeArtsSimulator, server) -> Iterator[CodeArtsAdapter]:
    a = make_adapter(server.url, sim.credentials())
    a.connect()
    yield a
    a.close()
