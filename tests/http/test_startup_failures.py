"""Issue #13 item 1: a service that cannot start exits at once, non-zero, with one clear line.

Each case starts `deposit-bot run` (polling and --http) as a subprocess and asserts its exit
code within seconds; before the fix every one of them printed a traceback and hung (the
database's worker thread kept the process alive)."""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.startup import CONFIG, DAMAGED, DATABASE, UNAVAILABLE
from tests import pgtest
from tests.bot.fake_bot_api import FakeBotApi
from tests.conftest import require_postgres

TOKEN = "123456:TEST-token-for-startup-failures-xxxxxxxx"
LIMIT = 20.0  # seconds; each case takes 1–6 s here


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(db: Path | str, *extra: str, base_url: str, token: str = TOKEN,
          writes_by_mode: bool = False) -> tuple[int, str, float]:
    """Run the bot until it exits (or LIMIT passes: a hang); its code, stderr and time."""
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_BASE_URL": base_url,
           "DEPOSIT_JOB_INTERVAL": "3600", "DEPOSIT_HTTP_SECRET": "s" * 40, "LOG_LEVEL": "INFO"}
    began = time.monotonic()
    bot = subprocess.Popen([sys.executable, "-m", "bot", "run", "--db", str(db), *extra],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           preexec_fn=without_dac_override if writes_by_mode else None)
    try:
        _, err = bot.communicate(timeout=LIMIT)
    except subprocess.TimeoutExpired:
        bot.kill()
        _, err = bot.communicate()
        pytest.fail(f"still running after {LIMIT} s (hung):\n{err[-2000:]}")
    return bot.returncode, err, time.monotonic() - began


def http_args() -> tuple[str, ...]:
    return ("--http", f"127.0.0.1:{closed_port()}")


MODES = {"polling": (), "http": "http"}


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi(TOKEN) as fake:
        yield fake


def _mode(mode: str) -> tuple[str, ...]:
    return http_args() if mode == "http" else ()


@pytest.mark.parametrize("mode", MODES)
def test_an_unreachable_bot_api_exits_69_at_once(tmp_path: Path, mode: str) -> None:
    code, err, _ = start(tmp_path / "d.db", *_mode(mode),
                         base_url=f"http://127.0.0.1:{closed_port()}")

    assert code == UNAVAILABLE, err
    assert "cannot start: cannot reach the Bot API" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("mode", MODES)
def test_a_wrong_token_exits_78_without_printing_it(tmp_path: Path, mode: str,
                                                    api: FakeBotApi) -> None:
    wrong = "654321:WRONG-token-that-the-api-refuses-xxxxxxxx"

    code, err, _ = start(tmp_path / "d.db", *_mode(mode), base_url=api.url, token=wrong)

    assert code == CONFIG, err
    assert "refused TELEGRAM_BOT_TOKEN" in err
    assert wrong not in err and "WRONG-token" not in err


@pytest.mark.parametrize("mode", MODES)
def test_a_file_that_is_not_a_database_exits_74(tmp_path: Path, mode: str,
                                                api: FakeBotApi) -> None:
    db = tmp_path / "d.db"
    db.write_bytes(b"this is not an SQLite database, just some text " * 100)

    code, err, _ = start(db, *_mode(mode), base_url=api.url)

    assert code == DATABASE, err
    assert f"database {db} cannot be used: file is not a database" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("mode", MODES)
def test_a_read_only_database_exits_74(tmp_path: Path, mode: str, api: FakeBotApi) -> None:
    db = tmp_path / "d.db"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.close()
    db.chmod(0o444)

    code, err, _ = start(db, *_mode(mode), base_url=api.url, writes_by_mode=True)

    assert code == DATABASE, err
    assert "cannot be used: attempt to write a readonly database" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("migrated", [False, True], ids=["new", "migrated"])
def test_a_read_only_postgresql_database_exits_74(migrated: bool, api: FakeBotApi) -> None:
    """The PostgreSQL leg: a database whose transactions are read-only by default (as on a
    hot standby or for a role set up to only read). A new one fails its first migration, a
    migrated one the write check; both used to print asyncpg's traceback and exit 1."""
    require_postgres()
    url = asyncio.run(pgtest.fresh_database("ro") if migrated else pgtest.empty_database("ro"))
    name = url.rsplit("/", 1)[1]
    try:
        asyncio.run(pgtest._admin(
            f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))

        code, err, _ = start(url, base_url=api.url)
    finally:
        asyncio.run(pgtest.drop(url))

    assert code == DATABASE, err
    assert f"database {url} cannot be used:" in err and "read-only" in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


PR_CAPBSET_DROP, CAP_DAC_OVERRIDE = 24, 1  # <linux/prctl.h>, <linux/capability.h>


def without_dac_override() -> None:
    """In the child before exec: drop CAP_DAC_OVERRIDE from the bounding set, so the bot runs
    as a service user would, even under root: file modes bind it, and a 0444 file is
    read-only for it (root otherwise writes through file modes). The kernel refuses the
    write; nothing is faked."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "cannot drop CAP_DAC_OVERRIDE (prctl)")


def test_a_missing_secret_with_http_exits_78(tmp_path: Path, api: FakeBotApi) -> None:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": api.url}
    env.pop("DEPOSIT_HTTP_SECRET", None)

    done = subprocess.run([sys.executable, "-m", "bot", "run", "--db", str(tmp_path / "d.db"),
                           *http_args()], env=env, capture_output=True, text=True, timeout=LIMIT)

    assert done.returncode == CONFIG
    assert "DEPOSIT_HTTP_SECRET is not set" in done.stderr


def test_a_port_already_in_use_exits_69_at_once(tmp_path: Path, api: FakeBotApi) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        code, err, _ = start(tmp_path / "d.db", "--http", f"127.0.0.1:{port}", base_url=api.url)

    assert code == UNAVAILABLE, err
    assert f"cannot listen on 127.0.0.1:{port}" in err


def corrupted_in_the_middle(tmp_path: Path) -> Path:
    """A real database with data whose middle pages are overwritten (the header stays valid,
    so it opens and migrates)."""
    db = tmp_path / "c.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE filler (id INTEGER PRIMARY KEY, text TEXT)")
    conn.execute("CREATE INDEX filler_text ON filler (text)")
    conn.executemany("INSERT INTO filler (text) VALUES (?)",
                     [(f"row {i} " + "x" * 200,) for i in range(3000)])
    conn.commit()
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    size = db.stat().st_size
    with open(db, "r+b") as fh:
        fh.seek(size // 2 - (size // 2) % 4096)
        fh.write(b"\xde\xad\xbe\xef" * 2048)
    return db


def test_a_database_corrupted_in_the_middle_refuses_to_start_with_65(
        tmp_path: Path, api: FakeBotApi) -> None:
    db = corrupted_in_the_middle(tmp_path)

    code, err, _ = start(db, base_url=api.url)

    assert code == DAMAGED, err
    assert "failed its integrity check" in err or "is damaged" in err
    assert "Traceback" not in err


def test_deposit_bot_check_reports_damage_with_65_and_a_sound_file_with_0(
        tmp_path: Path) -> None:
    bad = corrupted_in_the_middle(tmp_path)
    good = tmp_path / "good.db"
    subprocess.run([sys.executable, "-m", "bot", "migrate", "--db", str(good)], check=True,
                   capture_output=True, timeout=LIMIT)

    damaged = subprocess.run([sys.executable, "-m", "bot", "check", "--db", str(bad)],
                             capture_output=True, text=True, timeout=LIMIT)
    sound = subprocess.run([sys.executable, "-m", "bot", "check", "--db", str(good)],
                           capture_output=True, text=True, timeout=LIMIT)

    assert damaged.returncode == DAMAGED, damaged.stdout + damaged.stderr
    assert (sound.returncode, sound.stdout.strip().endswith("integrity ok")) == (0, True)
