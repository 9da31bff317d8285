"""The misses log: what is kept (text, language, candidates; nobody's id) and faq-misses."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from bot.faq.misses import list_misses
from bot.storage.db import Database
from bot.storage.faq_misses import FaqMisses, Miss

ROOT = Path(__file__).resolve().parent.parent.parent
AT = datetime.fromisoformat("2026-11-21T10:00:00+08:00")


async def test_a_miss_is_kept_with_its_candidates_and_listed_newest_first(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "m.db")
    misses = FaqMisses(db)
    await misses.record(Miss(AT, "unsure", "deposit zebra", "en", (("what_is_deposit", 0.44),)))
    await misses.record(Miss(AT.replace(hour=11), "support_after_answer", "提现多久", "zh_Hans",
                             (("withdrawal_destination", 0.9), ("how_to_withdraw", 0.7))))

    found = await misses.recent()
    columns = [r[1] for r in await db.conn.execute_fetchall("PRAGMA table_info(faq_misses)")]
    await db.close()

    assert [m.question for m in found] == ["提现多久", "deposit zebra"]
    assert found[0].candidates == (("withdrawal_destination", 0.9), ("how_to_withdraw", 0.7))
    assert set(columns) == {"miss_id", "at", "kind", "question", "language", "candidates"}


async def test_faq_misses_prints_one_line_per_miss(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    db = await Database.open(path)
    await FaqMisses(db).record(Miss(AT, "unsure", "deposit\nzebra", "en", (("reopen", 0.3),)))
    await db.close()
    out = io.StringIO()

    count = await list_misses(path, 10, out)

    assert count == 1
    assert out.getvalue() == "2026-11-21 02:00 unsure               en      deposit zebra  " \
                             "[reopen 0.30]\n"


def test_the_cli_lists_misses_of_a_database(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "bot", "faq-misses", "--db",
                           str(tmp_path / "new.db")], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)

    assert done.returncode == 0, done.stderr
    assert done.stdout == "no FAQ misses logged\n"
