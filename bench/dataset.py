"""The 100,000-shop database, built once and cached under bench/.cache/ by schema version.

Import runs at a few thousand events a second, so 100,000 shops (about 820,000 events)
would take minutes. The builder therefore imports the first TEMPLATE shops of
`deposit-bot demo-data` through the product's own import (every row made by
domain.apply.apply_event on the repositories), then copies those rows in SQL for the
other shops with every id renumbered (shop ids, order ids, payment references, ledger
accounts, event ids, outbox keys, member user ids). Pushes the import queued are marked
sent, as a running bot would have left them.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.common import CACHE
from bench.importing import events_file, product_import
from bot.storage.db import migrations

TEMPLATE = 2_000
SHOPS = 100_000
USERS_PER_SHOP = 3  # demo-data gives shop n the user ids 100_000_000 + 3n (+1 for staff)
# Tables whose rows belong to one shop, in foreign-key order.
SHOP_TABLES = ("shops", "members", "listings", "orders", "arrears", "transfers",
               "withdrawals", "quotes", "payments", "deductions", "events", "closures")


def schema_version() -> int:
    """The newest migration number: the cache key."""
    return migrations()[-1][0]


def cached_path(shops: int = SHOPS) -> Path:
    """Where the database of this size and schema lives."""
    return CACHE / f"shops-{shops}-schema-{schema_version()}.db"


def database(shops: int = SHOPS, log: bool = True) -> Path:
    """The cached database, built first if missing."""
    path = cached_path(shops)
    if not path.exists():
        started = time.perf_counter()
        CACHE.mkdir(parents=True, exist_ok=True)
        build(path, shops)
        if log:
            print(f"built {path.name} in {time.perf_counter() - started:.0f} s", flush=True)
    return path


def copy_of(source: Path, folder: Path, name: str = "copy.db") -> Path:
    """A private copy (benchmarks that write must not touch the cache)."""
    target = folder / name
    shutil.copyfile(source, target)
    return target


def build(path: Path, shops: int) -> None:
    """Import the template through the product, then clone it up to `shops` shops."""
    template = min(TEMPLATE, shops)
    with tempfile.TemporaryDirectory() as tmp:
        events, _ = events_file(Path(tmp), template)
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        product_import(events, partial)
    conn = sqlite3.connect(partial, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE push_deliveries SET status = 'sent', sent_at = next_attempt_at")
    conn.execute("UPDATE outbox SET sent_at = created_at WHERE sent_at IS NULL")
    stride = conn.execute("SELECT coalesce(max(id), 0) FROM outbox").fetchone()[0]
    for k in range(1, -(-shops // template)):
        _clone(conn, {"off": k * template, "users": k * template * USERS_PER_SHOP,
                      "ids": k * stride, "base": stride, "template": template,
                      "limit": shops})
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    partial.rename(path)


def _new_id(column: str) -> str:
    """`MY-0000001` shifted by :off shops, the market kept."""
    return (f"substr({column}, 1, instr({column}, '-')) || printf('%07d', "
            f"CAST(substr({column}, instr({column}, '-') + 1) AS INTEGER) + :off)")


def _columns(conn: sqlite3.Connection, table: str) -> list[tuple[str, str]]:
    return [(r[1], r[2].upper()) for r in conn.execute(f"PRAGMA table_info({table})")]


def _clone(conn: sqlite3.Connection, params: dict[str, int]) -> None:
    """Copy the template's shops n as shops n + :off (up to :limit), ids renumbered."""
    number = "CAST(substr(src.shop_id, instr(src.shop_id, '-') + 1) AS INTEGER)"
    keep = f"{number} <= :template AND {number} + :off <= :limit"
    new = _new_id("src.shop_id")
    for table in SHOP_TABLES:
        cols = [(c, t) for c, t in _columns(conn, table) if c != "seq"]
        exprs = []
        for col, kind in cols:
            if col == "telegram_user_id":
                exprs.append("src.telegram_user_id + :users")
            elif kind == "TEXT":
                exprs.append(f"replace(src.{col}, src.shop_id, {new})")
            else:
                exprs.append(f"src.{col}")
        names = ", ".join(c for c, _ in cols)
        conn.execute(f"INSERT INTO {table} ({names}) SELECT {', '.join(exprs)} "
                     f"FROM {table} src WHERE src.shop_id IS NOT NULL AND {keep}", params)
    conn.execute(
        "INSERT INTO outbox (id, shop_id, kind, dedup_key, created_at, data, sent_at) "
        f"SELECT src.id + :ids, {new}, src.kind, replace(src.dedup_key, src.shop_id, {new}), "
        f"src.created_at, replace(src.data, src.shop_id, {new}), src.sent_at "
        f"FROM outbox src WHERE src.id <= :base AND {keep}", params)
    conn.execute(
        "INSERT INTO push_deliveries (outbox_id, telegram_user_id, status, attempts, "
        "next_attempt_at, last_error, sent_at, message_id) "
        "SELECT d.outbox_id + :ids, d.telegram_user_id + :users, d.status, d.attempts, "
        "d.next_attempt_at, d.last_error, d.sent_at, d.message_id FROM push_deliveries d "
        f"JOIN outbox src ON src.id = d.outbox_id WHERE src.id <= :base AND {keep}", params)


if __name__ == "__main__":
    print(database())
