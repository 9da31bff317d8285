"""SPEC §10 scripts piped through the real `deposit-bot chat`, compared with golden output.

Regenerate the goldens after an intended change: UPDATE_GOLDEN=1 make test, then review the diff.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "transcripts"
SCRIPTS = sorted(HERE.glob("*.txt"))
NOW = "2026-11-21T10:00+08:00"


DESK = {"SUPPORT_CHAT_ID": "-100500", "DEPOSIT_AGENTS": "900", "DEPOSIT_OPERATORS": "1"}


def run_chat(script: str, *args: str, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    """The console script, as a user would run it, on a fresh database."""
    return subprocess.run([sys.executable, "-m", "bot", "chat", "--now", NOW, *args],
                          input=script, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})},
                          check=False)


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_a_transcript_prints_what_the_golden_file_says(script: Path) -> None:
    extra = ("--demo",) if script.stem.startswith("demo") else ()
    golden = script.with_suffix(".out")

    result = run_chat(script.read_text(encoding="utf-8"), *extra,
                      env=DESK if script.stem.startswith("desk") else None)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == golden.read_text(encoding="utf-8")


def test_malformed_directives_print_an_error_and_the_script_goes_on() -> None:
    result = run_chat("!as\n!clock yesterday\n!press\n!press Nothing\n!whatever\n"
                      "!echo still here\n")

    lines = result.stdout.splitlines()
    assert result.returncode == 0
    assert [line.split(":")[0] for line in lines[:5]] == ["error"] * 5
    assert lines[5] == "still here"


def test_the_clock_never_goes_back() -> None:
    result = run_chat("!clock 2020-01-01T00:00+00:00\n!echo ok\n")

    assert result.stdout.splitlines() == ["error: the clock never goes back", "ok"]


def test_an_empty_script_exits_cleanly() -> None:
    result = run_chat("")

    assert (result.returncode, result.stdout) == (0, "")
