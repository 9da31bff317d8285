"""Operations commands: `import FILE.jsonl`, `demo-data`, `backup PATH`."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, TextIO

from tqdm import tqdm

from bot.bulk import apply_bulk
from bot.channels import LoggedChannel
from bot.clock import SystemClock
from bot.config import Settings, db_location
from bot.context import Deps
from bot.ingest import apply_batch, parse_line
from bot.storage.db import Database, is_url, open_sync, shown
from bot.storage.ops import BackupToolMissing, backup
from domain.apply import EventResult, Outcome
from domain.policy import load_policy

ORDER = (Outcome.APPLIED, Outcome.DUPLICATE, Outcome.CONFLICT, Outcome.REJECTED)


def _batches(stream: BinaryIO, size: int, bar: tqdm) -> Iterator[list[tuple[int, str]]]:
    """(line number, text) in groups of size; blank lines skipped, the bar moved by bytes."""
    batch: list[tuple[int, str]] = []
    for number, raw in enumerate(stream, 1):
        bar.update(len(raw))
        if not raw.strip():
            continue
        batch.append((number, raw.decode("utf-8", errors="replace")))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _report(number: int, result: EventResult, err: TextIO) -> None:
    where = f" ({result.field}: {result.reason})" if result.field else ""
    err.write(f"line {number}: {result.event_id or '?'} {result.outcome.value}{where}\n")


async def import_file(d: Deps, path: Path, batch: int, err: TextIO, *,
                      bulk: bool = True) -> Counter[Outcome]:
    """Apply every line of a JSONL file, batch lines per transaction; outcomes counted.

    `bulk` (the default) applies each batch set-wise (bot/bulk.py); without it each event
    goes through apply_event on its own (bot/ingest.py), with the same outcomes and rows."""
    apply = apply_bulk if bulk else apply_batch
    totals: Counter[Outcome] = Counter()
    with path.open("rb") as stream, tqdm(total=path.stat().st_size, unit="B", unit_scale=True,
                                         file=err, disable=not err.isatty(),
                                         desc=path.name) as bar:
        for group in _batches(stream, batch, bar):
            results = await apply(d, [parse_line(text) for _, text in group])
            for (number, _), result in zip(group, results, strict=True):
                totals[result.outcome] += 1
                if result.outcome in {Outcome.REJECTED, Outcome.CONFLICT}:
                    bar.clear()
                    _report(number, result, err)
    return totals


async def import_command(args: argparse.Namespace, settings: Settings) -> int:
    """`deposit-bot import`: the summary on stdout; exit 1 if anything was refused."""
    if args.batch < 1:
        raise SystemExit("--batch must be at least 1")
    if not args.file.is_file():
        raise SystemExit(f"no such file: {args.file}")
    target = args.db or settings.db
    # SQLite: the file is the command's alone, read on this thread (syncdb.py); PostgreSQL
    # has no thread hop to save, and other instances may write meanwhile.
    db = await (Database.open(target) if is_url(target) else open_sync(target))
    d = Deps(db, load_policy(settings.policy), SystemClock(), LoggedChannel(),
             settings.default_language)
    try:
        totals = await import_file(d, args.file, args.batch, sys.stderr,
                                   bulk=not args.one_by_one)
    finally:
        await db.close()
    for outcome in ORDER:
        print(f"{outcome.value}: {totals[outcome]}")
    return 1 if totals[Outcome.REJECTED] or totals[Outcome.CONFLICT] else 0


def demo_data_command(args: argparse.Namespace, settings: Settings) -> None:
    """`deposit-bot demo-data`: JSON lines to -o FILE or stdout."""
    from bot.demo_data import write_demo

    if args.shops < 1:
        raise SystemExit("--shops must be at least 1")
    policy = load_policy(settings.policy)
    if args.output is None or str(args.output) == "-":
        count = write_demo(sys.stdout, args.shops, args.seed, policy)
    else:
        with args.output.open("w", encoding="utf-8", buffering=1 << 20) as out:
            count = write_demo(out, args.shops, args.seed, policy)
    print(f"{count} events for {args.shops} shops (seed {args.seed})", file=sys.stderr)


async def backup_command(args: argparse.Namespace, settings: Settings) -> None:
    """`deposit-bot backup PATH`: an online copy, safe while the bot runs."""
    target = args.db or settings.db
    if not is_url(target) and args.path.resolve() == Path(target).resolve():
        raise SystemExit("the backup must not overwrite the database itself")
    db = await Database.open(target)
    try:
        await backup(db, args.path)
    except BackupToolMissing as exc:
        raise SystemExit(str(exc)) from None
    finally:
        await db.close()
    print(f"database {shown(db.path)} backed up to {args.path}")


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The operations subcommands of `deposit-bot`."""
    raw = argparse.RawDescriptionHelpFormatter
    db_help = "database file or postgresql:// URL (default: DEPOSIT_DB)"
    imp = sub.add_parser("import", help="apply platform events from a JSONL file",
                         formatter_class=raw,
                         epilog="example: deposit-bot import events.jsonl --db shops.db")
    imp.add_argument("file", type=Path,
                     help="JSONL file, one platform event (SPEC §9) per line")
    imp.add_argument("--db", type=db_location, default=argparse.SUPPRESS, help=db_help)
    imp.add_argument("--batch", type=int, default=500, help="events per transaction (500)")
    imp.add_argument("--one-by-one", action="store_true",
                     help="apply each event on its own instead of set-wise per batch "
                          "(same outcomes and rows; slower)")
    demo = sub.add_parser("demo-data", help="write realistic platform events for N shops",
                          formatter_class=raw,
                          epilog="example: deposit-bot demo-data --shops 50 -o events.jsonl")
    demo.add_argument("--shops", type=int, required=True, help="how many shops to invent")
    demo.add_argument("--seed", type=int, default=1,
                      help="random seed: the same seed writes the same events (default: 1)")
    demo.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    bak = sub.add_parser("backup", help="copy the database while the bot runs",
                         formatter_class=raw,
                         epilog="example: deposit-bot backup backups/shops-2026-11-21.db "
                                "--db shops.db")
    bak.add_argument("path", type=Path, help="where to write the copy (a new file)")
    bak.add_argument("--db", type=db_location, default=argparse.SUPPRESS, help=db_help)
