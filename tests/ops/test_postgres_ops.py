"""import, demo-data, migrate and backup as an operator runs them against PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests import pgtest
from tests.conftest import require_postgres
from tests.ops.test_commands import cli, demo_lines, summary

TABLES = ("shops", "members", "transfers", "events", "outbox", "push_deliveries")


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    require_postgres()
    url = await pgtest.fresh_database("ops")
    try:
        yield url
    finally:
        await pgtest.drop(url)


async def counts(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        return {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in TABLES}
    finally:
        await conn.close()


async def test_demo_data_imports_into_postgres_once_and_a_second_pass_applies_nothing(
        tmp_path: Path, pg_url: str) -> None:
    (tmp_path / "events.jsonl").write_text("\n".join(demo_lines(8)) + "\n", encoding="utf-8")

    first = cli("import", "events.jsonl", "--db", pg_url, "--batch", "16", cwd=tmp_path)
    second = cli("import", "events.jsonl", "--db", pg_url, cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    assert summary(first.stdout)["applied"] == len(demo_lines(8))
    assert summary(second.stdout) == {"applied": 0, "already applied": len(demo_lines(8)),
                                      "conflict": 0, "rejected": 0}
    assert (await counts(pg_url))["shops"] == 8


async def test_migrate_takes_a_postgres_url_from_deposit_db(tmp_path: Path,
                                                             pg_url: str) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DEPOSIT_")},
           "DEPOSIT_DB": pg_url.replace("postgresql://", "postgres://", 1)}

    result = subprocess.run([sys.executable, "-m", "bot", "migrate"], capture_output=True,
                            text=True, timeout=120, env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "at schema version" in result.stdout


@pytest.mark.skipif(shutil.which("pg_dump") is None or shutil.which("pg_restore") is None,
                    reason="pg_dump/pg_restore not on PATH")
async def test_backup_of_postgres_restores_to_the_same_rows(tmp_path: Path,
                                                            pg_url: str) -> None:
    (tmp_path / "events.jsonl").write_text("\n".join(demo_lines(5)) + "\n", encoding="utf-8")
    cli("import", "events.jsonl", "--db", pg_url, cwd=tmp_path)

    result = cli("backup", "backups/pg.dump", "--db", pg_url, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "backed up to backups/pg.dump" in result.stdout
    restored = await pgtest.fresh_database("restore")
    try:
        conn = await asyncpg.connect(restored)
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        await conn.close()
        done = subprocess.run(["pg_restore", "--no-owner", f"--dbname={restored}",
                               str(tmp_path / "backups" / "pg.dump")],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert await counts(restored) == await counts(pg_url)
    finally:
        await pgtest.drop(restored)


def test_backup_without_pg_dump_says_so_in_one_line_and_fails(tmp_path: Path,
                                                              pg_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPOSIT_")}
    env["PATH"] = str(Path(sys.executable).parent)  # python, but no PostgreSQL client tools

    result = subprocess.run([sys.executable, "-m", "bot", "backup", "x.dump", "--db", pg_url],
                            capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "pg_dump is not on PATH" in result.stderr
