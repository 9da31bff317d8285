"""SQLite's SQL as PostgreSQL reads it (bot/storage/dialect.py): what is rewritten, and what
inside quotes is left alone."""

from __future__ import annotations

import pytest

from bot.storage.dialect import arguments, translate


@pytest.mark.parametrize(("sqlite", "postgres"), [
    ("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = $1 AND b = $2"),
    ("SELECT ?1 + ?1, ?2", "SELECT $1 + $1, $2"),
    ("SELECT :now - :since, :now", "SELECT $1 - $2, $1"),
    ("SELECT '?', ':x', \"a?\" FROM t WHERE c = ?",
     "SELECT '?', ':x', \"a?\" FROM t WHERE c = $1"),
    ("SELECT x::text FROM t", "SELECT x::text FROM t"),
    ("INSERT OR IGNORE INTO t (a) VALUES (?)",
     "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING"),
    ("SELECT max(a, b), min(c, 1), max(d) FROM t",
     "SELECT greatest(a, b), least(c, 1), max(d) FROM t"),
    ("SELECT json_group_array(json_object('k', k)) FROM t",
     "SELECT coalesce(json_agg(json_build_object('k', k)), '[]'::json) FROM t"),
    ("SELECT json_group_object(k, v) FROM t", "SELECT json_object_agg(k, v) FROM t"),
    ("SELECT CAST(strftime('%s', at) AS INTEGER) FROM t",
     "SELECT CAST(floor(extract(epoch FROM CAST(at AS timestamptz))) AS BIGINT) FROM t"),
    ("SELECT a FROM (SELECT 1 AS a) GROUP BY a",
     "SELECT a FROM (SELECT 1 AS a) AS _subquery1 GROUP BY a"),
    ("SELECT * FROM (SELECT 1) AS named", "SELECT * FROM (SELECT 1) AS named"),
    ("PRAGMA user_version",
     "SELECT coalesce(max(version), 0) AS user_version FROM schema_migrations"),
])
def test_a_statement_is_translated(sqlite: str, postgres: str) -> None:
    assert translate(sqlite)[0] == postgres


def test_arguments_follow_the_placeholders_order() -> None:
    _, positional = translate("SELECT ?2, ?1")
    _, named = translate("SELECT :b, :a, :b")

    assert arguments(positional, ("one", "two")) == ["two", "one"]
    assert arguments(named, {"a": 1, "b": 2}) == [2, 1]


def test_a_write_of_a_flow_state_is_committed_without_waiting_for_the_disk() -> None:
    from bot.storage.pg import unflushed

    quick = "WITH quick AS (SELECT set_config('synchronous_commit', 'off', true)) "
    assert unflushed("INSERT INTO t (a, b) VALUES (?, ?) ON CONFLICT (a) DO UPDATE SET "
                     "b = excluded.b") == (f"{quick}INSERT INTO t (a, b) SELECT ?, ? FROM quick"
                                           " ON CONFLICT (a) DO UPDATE SET b = excluded.b")
    assert unflushed("DELETE FROM t WHERE a = ? OR b = ?") == (
        f"{quick}DELETE FROM t WHERE (a = ? OR b = ?) AND EXISTS (SELECT 1 FROM quick)")
    with pytest.raises(ValueError):
        unflushed("UPDATE t SET a = ?")
