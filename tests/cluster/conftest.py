"""PostgreSQL for the cluster tests: tests/pgtest.py's server, a fresh migrated database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests import pgtest
from tests.conftest import require_postgres


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """postgresql://… of a fresh migrated database, dropped afterwards."""
    require_postgres()
    url = await pgtest.fresh_database("cluster", reuse=False)
    try:
        yield url
    finally:
        await pgtest.drop(url)
