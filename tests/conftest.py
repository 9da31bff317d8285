"""Fixtures every suite shares: the storage backends a test runs on.

`db_target` is a SQLite file path or the URL of a fresh PostgreSQL database (cloned from a
migrated template, dropped afterwards): a test that opens its database with
`Database.open(db_target)` runs once on each backend. `DEPOSIT_TEST_BACKENDS=sqlite` (or
`postgres`) runs one leg only; tests/pgtest.py says which PostgreSQL server is used.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from tests import pgtest
from tests.standin import watching_refusals

BACKENDS = [b.strip() for b in os.environ.get("DEPOSIT_TEST_BACKENDS",
                                              "sqlite,postgres").split(",") if b.strip()]


def require_postgres() -> str:
    """The test server's URL; skips the test without one (fails it under CI=true)."""
    try:
        return pgtest.server_url()
    except RuntimeError as exc:
        if pgtest.in_ci():
            pytest.fail(f"CI=true and {exc}", pytrace=False)
        pytest.skip(str(exc))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The storage backend of this run of the test: "sqlite" or "postgres"."""
    return str(request.param)


@pytest.fixture
async def db_target(backend: str, tmp_path: Path) -> AsyncIterator[str | Path]:
    """Where the test's database lives: a fresh file or a fresh PostgreSQL database."""
    if backend == "sqlite":
        yield tmp_path / "test.db"
        return
    require_postgres()
    url = await pgtest.fresh_database()
    try:
        yield url
    finally:
        await pgtest.drop(url)


@pytest.fixture
async def databases(backend: str, tmp_path: Path
                    ) -> AsyncIterator[Callable[[str], Awaitable[str | Path]]]:
    """Makes several fresh database targets for one test, on this run's backend."""
    made: list[str] = []

    async def make(name: str) -> str | Path:
        if backend == "sqlite":
            return tmp_path / f"{name}.db"
        require_postgres()
        made.append(await pgtest.fresh_database(name))
        return made[-1]

    yield make
    for url in made:
        await pgtest.drop(url)


@pytest.fixture(scope="module", params=BACKENDS)
def module_databases(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                     ) -> Iterator[Callable[[], str | Path]]:
    """For module-scoped fixtures: makes fresh database targets on this run's backend."""
    made: list[str] = []

    def make() -> str | Path:
        if request.param == "sqlite":
            return tmp_path_factory.mktemp("db") / "test.db"
        require_postgres()
        made.append(asyncio.run(pgtest.fresh_database("module")))
        return made[-1]

    yield make
    for url in made:
        asyncio.run(pgtest.drop(url))


# The modules whose single tests run longest (tens of seconds each: state machines, killed and
# restarted bot processes, clusters), heaviest first. They are collected first so that
# `-n 2 --dist loadgroup` starts them at once and the short tests fill in around them; in
# collection order they came last and one worker ran them alone at the end. Order only:
# every test still runs, each module's tests in their own order.
LONG_FIRST = (
    "tests/integration/test_ledger_machine.py",
    "tests/reliability/test_crash.py",
    "tests/cluster/",
    "tests/reliability/test_fuzz.py",
    "tests/http/test_startup_failures.py",
    "tests/http/test_run_http.py",
    "tests/http/test_schemathesis.py",
    "tests/ops/test_postgres_ops.py",
    "tests/ops/test_commands.py",
)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    """Long-running modules first (see LONG_FIRST); a stable sort keeps the rest in order."""
    def rank(item: pytest.Item) -> int:
        return next((i for i, prefix in enumerate(LONG_FIRST)
                     if item.nodeid.startswith(prefix)), len(LONG_FIRST))

    items.sort(key=rank)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop this process's template database and the databases it kept for reuse."""
    if pgtest._template is not None:
        asyncio.run(pgtest.drop_template())


@pytest.fixture(autouse=True)
def telegram_accepts_every_message(request: pytest.FixtureRequest,
                                   monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Issue #17: a test whose bot sends a message Telegram would refuse (too long, malformed
    HTML, callback data over 64 bytes…) fails, even when the bot survives the 400. Every
    stand-in of the Bot API (the sandbox's request, tests/standin.py) asks
    bot.telegram_rules.refusal through bot.sandbox.recording; a test about refusals themselves
    is marked `telegram_refuses`."""
    with watching_refusals(monkeypatch) as refused:
        yield
    if refused and request.node.get_closest_marker("telegram_refuses") is None:
        pytest.fail(f"Telegram would refuse what the bot sent: {refused[:3]}", pytrace=False)
