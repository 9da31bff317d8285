"""A throwaway PostgreSQL database per test (DEPOSIT_TEST_PG, else 127.0.0.1:5432)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

SERVER = os.environ.get("DEPOSIT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


async def _admin() -> object:
    import asyncpg

    try:
        return await asyncpg.connect(SERVER, timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no PostgreSQL at {SERVER}: {exc}")


async def create_database() -> str:
    """A fresh empty database on the server; its name (pgcluster_…, unique)."""
    admin = await _admin()
    name = f"pgcluster_{uuid.uuid4().hex[:12]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[attr-defined]
    finally:
        await admin.close()  # type: ignore[attr-defined]
    return name


async def drop_database(name: str) -> None:
    """Drop it, whoever is still connected."""
    admin = await _admin()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[attr-defined]
    finally:
        await admin.close()  # type: ignore[attr-defined]


def url_of(name: str) -> str:
    return SERVER.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """postgresql://… of a fresh empty database, dropped afterwards."""
    name = await create_database()
    try:
        yield url_of(name)
    finally:
        await drop_database(name)
