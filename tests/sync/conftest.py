"""Fixtures shared by the sync tests that run a platform gateway on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync import catchup
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.gateway.testing import make_platform


@pytest.fixture
def world(tmp_path: Path):
    """(root, platform home, platform keys, gateway URL, open Platform): a gateway served on 127.0.0.1."""
    home, keys = make_platform(tmp_path)
    with Platform.open(home) as platform, ServerThread(platform) as server:
        yield tmp_path, home, keys, server.url, platform


@pytest.fixture
def new_process():
    """Each test starts as a fresh `station` process would: no chain check remembered."""
    catchup.forget_checks()
    yield
    catchup.forget_checks()
