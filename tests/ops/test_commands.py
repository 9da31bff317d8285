"""deposit-bot import, demo-data and backup, as an operator runs them."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from bot.channels import LoggedChannel
from bot.clock import SystemClock
from bot.context import Deps
from bot.demo_data import write_demo
from bot.ingest import apply_one
from bot.storage.db import Database
from bot.storage.ops import backup
from domain.policy import load_policy


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPOSIT_")}
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          timeout=300, env=env, cwd=cwd)


def summary(stdout: str) -> dict[str, int]:
    return {k: int(v) for k, v in (line.rsplit(": ", 1) for line in stdout.splitlines())}


def demo_lines(shops: int, seed: int = 7) -> list[str]:
    out = io.StringIO()
    write_demo(out, shops, seed, load_policy())
    return out.getvalue().splitlines()


def test_demo_data_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    first, again, other = demo_lines(30), demo_lines(30), demo_lines(30, seed=8)

    assert first == again
    assert first != other
    events = [json.loads(line) for line in first]
    assert len({e["event_id"] for e in events}) == len(events)
    assert {e["market"] for e in events if e["type"] == "shop.registered"} == {
        "GB", "US", "SG", "MY", "TH", "PH", "VN"}
    assert {"order.updated", "payment.confirmed", "listing.changed"} <= {e["type"]
                                                                          for e in events}


def test_import_of_a_file_with_a_repeated_segment_then_a_second_pass(tmp_path: Path) -> None:
    lines = demo_lines(40)
    repeated = lines[10:60]
    (tmp_path / "events.jsonl").write_text("\n".join(lines + repeated) + "\n", encoding="utf-8")

    first = cli("import", "events.jsonl", "--db", "d.db", "--batch", "64", cwd=tmp_path)
    second = cli("import", "events.jsonl", "--db", "d.db", cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    assert summary(first.stdout) == {"applied": len(lines), "already applied": len(repeated),
                                     "conflict": 0, "rejected": 0}
    assert summary(second.stdout) == {"applied": 0, "already applied": len(lines + repeated),
                                      "conflict": 0, "rejected": 0}
    assert second.returncode == 0
    with sqlite3.connect(tmp_path / "d.db") as db:
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == len(lines)


def test_import_reports_refusals_by_line_and_exits_1(tmp_path: Path) -> None:
    lines = demo_lines(3)
    changed = json.loads(lines[4])
    changed["entity_name"] = "Someone Else Ltd"
    body = [*lines, "{broken", json.dumps(changed),
            json.dumps({"type": "fx.rate", "event_id": "fx-x", "occurred_at": "nope"})]
    (tmp_path / "bad.jsonl").write_text("\n".join(body) + "\n", encoding="utf-8")

    result = cli("import", "bad.jsonl", "--db", "d.db", cwd=tmp_path)

    assert result.returncode == 1
    assert summary(result.stdout) == {"applied": len(lines), "already applied": 0,
                                      "conflict": 1, "rejected": 2}
    n = len(lines)
    assert f"line {n + 1}: ? rejected (event: not valid JSON" in result.stderr
    assert f"line {n + 2}: {changed['event_id']} conflict (event_id:" in result.stderr
    assert f"line {n + 3}: fx-x rejected (occurred_at:" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_data_command_writes_a_file_that_imports_cleanly(tmp_path: Path) -> None:
    made = cli("demo-data", "--shops", "25", "--seed", "3", "-o", "demo.jsonl", cwd=tmp_path)
    imported = cli("import", "demo.jsonl", "--db", "d.db", cwd=tmp_path)

    assert made.returncode == 0, made.stderr
    assert (tmp_path / "demo.jsonl").read_text().splitlines() == demo_lines(25, seed=3)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert summary(imported.stdout)["rejected"] == 0


async def test_a_backup_taken_while_events_are_written_is_consistent(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "live.db")
    d = Deps(db, load_policy(), SystemClock(), LoggedChannel())
    events = [json.loads(line) for line in demo_lines(20)]

    async def write() -> None:
        for raw in events:
            await apply_one(d, raw)
            await asyncio.sleep(0)

    writer = asyncio.create_task(write())
    await asyncio.sleep(0.05)
    await backup(db, tmp_path / "copy.db")
    await writer
    await backup(db, tmp_path / "final.db")
    await db.close()

    with sqlite3.connect(tmp_path / "copy.db") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        partial = copy.execute("SELECT count(*) FROM events").fetchone()[0]
        ledger = copy.execute("SELECT count(*) FROM events WHERE type = 'payment.confirmed'"
                              ).fetchone()[0]
        credited = copy.execute("SELECT count(*) FROM payments").fetchone()[0]
    with sqlite3.connect(tmp_path / "final.db") as final, \
            sqlite3.connect(tmp_path / "live.db") as live:
        rows = "SELECT event_id, digest FROM events ORDER BY event_id"
        assert final.execute(rows).fetchall() == live.execute(rows).fetchall()
    assert 0 < partial <= len(events)
    assert ledger == credited  # every copied payment event has its credit, and no more


def test_backup_command_copies_the_database(tmp_path: Path) -> None:
    (tmp_path / "events.jsonl").write_text("\n".join(demo_lines(5)) + "\n", encoding="utf-8")
    cli("import", "events.jsonl", "--db", "d.db", cwd=tmp_path)

    result = cli("backup", "backups/d-copy.db", "--db", "d.db", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "backups" / "d-copy.db") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT count(*) FROM shops").fetchone()[0] == 5
    assert not (tmp_path / "backups" / "d-copy.db.partial").exists()
