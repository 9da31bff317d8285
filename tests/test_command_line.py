"""`deposit-bot` options: a bad one exits at once with one line; global options anywhere;
help with examples; the sandbox says whether the demo database is new and saves files
(issue 14.22, 14.23)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EVENT = {"type": "shop.registered", "event_id": "r1", "occurred_at": "2026-11-01T09:00:00+08:00",
         "shop_id": "S-1", "entity_name": "Acme Ltd", "market": "GB", "company_region": "CN",
         "legal_rep_id_region": "CN", "scope_categories": ["apparel"]}


def cli(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPOSIT_")}
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          timeout=60, env=env, cwd=cwd, input=stdin)


@pytest.mark.parametrize("now", ["2026-11-21T10:00", "yesterday"])
def test_a_bad_now_exits_non_zero_at_once_with_one_line(now: str, tmp_path: Path) -> None:
    result = cli("chat", "--now", now, cwd=tmp_path, stdin="!echo never\n")

    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "--now" in result.stderr and "+08:00" in result.stderr


def test_an_unknown_option_is_one_line_too(tmp_path: Path) -> None:
    result = cli("chat", "--bogus", cwd=tmp_path)

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_the_database_option_may_come_before_the_subcommand(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(EVENT) + "\n", encoding="utf-8")

    before = cli("--db", str(tmp_path / "a.db"), "import", str(events), cwd=tmp_path)
    after = cli("import", str(events), "--db", str(tmp_path / "b.db"), cwd=tmp_path)

    assert before.returncode == 0, before.stderr
    assert after.returncode == 0, after.stderr
    assert (tmp_path / "a.db").exists() and (tmp_path / "b.db").exists()


@pytest.mark.parametrize("command", ["link", "import", "backup", "demo-data"])
def test_the_operations_commands_explain_their_arguments_with_an_example(
        command: str, tmp_path: Path) -> None:
    result = cli(command, "--help", cwd=tmp_path)

    assert result.returncode == 0
    assert "example" in result.stdout.lower()
    assert f"deposit-bot {command}" in result.stdout.split("xample", 1)[1]
    positional = result.stdout.split("positional arguments:", 1)[-1].split("options:")[0]
    for line in positional.strip().splitlines():
        if line.startswith("  ") and not line.startswith("    "):
            assert len(line.split()) > 1, f"no help for {line.strip()}"


def test_the_demo_says_whether_it_created_or_reused_the_database(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"

    first = cli("chat", "--demo", "--db", str(db), cwd=tmp_path)
    second = cli("chat", "--demo", "--db", str(db), cwd=tmp_path)

    assert "Created the demo database" in first.stderr
    assert "Reusing the demo database" in second.stderr and "delete it" in second.stderr


def test_the_sandbox_saves_the_files_it_sends(tmp_path: Path) -> None:
    files = tmp_path / "out"

    result = cli("chat", "--demo", "--db", str(tmp_path / "d.db"), "--files", str(files),
                 cwd=tmp_path, stdin="!as 1001 en\n/history\n!press CSV statement\n")

    saved = list(files.iterdir())
    assert result.returncode == 0, result.stderr
    assert any(p.suffix == ".csv" and p.stat().st_size > 0 for p in saved), saved
    assert str(files) in result.stderr


def test_a_database_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")

    result = cli("chat", "--db", str(blocker / "x.db"), cwd=tmp_path)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "cannot open the database" in result.stderr
