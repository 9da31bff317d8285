"""SQLite's SQL as PostgreSQL reads it: a thin translation, not an ORM.

The repositories write one set of SQL in the dialect both engines share. The few constructs
where they differ are rewritten here, once per distinct statement (the result is cached):

- placeholders: `?`, `?NNN` and `:name` become `$n` (the argument order is returned);
- `json_group_array(x)` → `coalesce(json_agg(x), '[]')`, `json_object(` → `json_build_object(`,
  `json_group_object(` → `json_object_agg(`;
- `strftime('%s', x)` (epoch seconds) → `floor(extract(epoch FROM CAST(x AS timestamptz)))`;
- a scalar `max(a, b, …)` / `min(a, b, …)` → `greatest(…)` / `least(…)`;
- `CAST(x AS INTEGER)` → `CAST(x AS BIGINT)` (SQLite's INTEGER is 64-bit);
- a subquery in FROM without a name gets one (PostgreSQL 15 requires it);
- `INSERT OR IGNORE` → `INSERT … ON CONFLICT DO NOTHING`;
- `PRAGMA user_version` → the highest version in `schema_migrations`.

Text inside quotes and comments is never rewritten. Statements the SQLite code sends for
transactions (`BEGIN IMMEDIATE` …) are the connection's business (bot/storage/pg.py).
"""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _skip(sql: str, i: int) -> int:
    """Index after a quoted literal, quoted identifier or comment starting at i (else i)."""
    c = sql[i]
    if c in "'\"":
        j = i + 1
        while j < len(sql):
            if sql[j] == c:
                if j + 1 < len(sql) and sql[j + 1] == c:
                    j += 2
                    continue
                return j + 1
            j += 1
        return len(sql)
    if sql.startswith("--", i):
        end = sql.find("\n", i)
        return len(sql) if end < 0 else end
    return i


@lru_cache(maxsize=4096)
def placeholders(sql: str) -> tuple[str, tuple[str | int, ...]]:
    """`?`, `?NNN` and `:name` as `$n`; the order names (str) or 1-based positions (int)."""
    out: list[str] = []
    order: list[str | int] = []
    slots: dict[str | int, int] = {}
    highest = 0
    i = 0
    while i < len(sql):
        end = _skip(sql, i)
        if end != i:
            out.append(sql[i:end])
            i = end
            continue
        c = sql[i]
        if c == "?":
            j = i + 1
            while j < len(sql) and sql[j].isdigit():
                j += 1
            key: str | int = int(sql[i + 1:j]) if j > i + 1 else highest + 1
            highest = max(highest, key) if isinstance(key, int) else highest
            i = j
        elif c == ":" and (i == 0 or sql[i - 1] != ":") and (m := _WORD.match(sql, i + 1)):
            key = m.group(0)
            i = m.end()
        else:
            out.append(c)
            i += 1
            continue
        if key not in slots:
            order.append(key)
            slots[key] = len(order)
        out.append(f"${slots[key]}")
    return "".join(out), tuple(order)


def _close(sql: str, open_at: int) -> tuple[int, int]:
    """Index of the parenthesis closing the one at open_at, and its top-level comma count."""
    depth, commas, i = 0, 0, open_at
    while i < len(sql):
        end = _skip(sql, i)
        if end != i:
            i = end
            continue
        c = sql[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i, commas
        elif c == "," and depth == 1:
            commas += 1
        i += 1
    raise ValueError(f"unbalanced parentheses in: {sql}")


_FUNCS = re.compile(r"\b(json_group_array|json_group_object|json_object|strftime|max|min)\s*\(",
                    re.IGNORECASE)
_EPOCH = re.compile(r"^\(\s*'%s'\s*,(.*)\)$", re.DOTALL)


def _functions(sql: str) -> str:
    """Rewrite the functions that differ, innermost text first, outside quotes."""
    i, out = 0, []
    while True:
        m = _find(sql, i)
        if m is None:
            out.append(sql[i:])
            return "".join(out)
        name, start, paren = m.group(1).lower(), m.start(), m.end() - 1
        close, commas = _close(sql, paren)
        inner = _functions(sql[paren + 1:close])
        out.append(sql[i:start])
        out.append(_rewrite(name, inner, commas, m.group(1)))
        i = close + 1


def _find(sql: str, start: int) -> re.Match[str] | None:
    i = start
    while i < len(sql):
        end = _skip(sql, i)
        if end != i:
            i = end
            continue
        m = _FUNCS.match(sql, i)
        if m and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] in "_.")):
            return m
        i += 1
    return None


def _rewrite(name: str, inner: str, commas: int, original: str) -> str:
    if name == "json_group_array":
        return f"coalesce(json_agg({inner}), '[]'::json)"
    if name == "json_group_object":
        return f"json_object_agg({inner})"
    if name == "json_object":
        return f"json_build_object({inner})"
    if name == "strftime":
        epoch = _EPOCH.match(f"({inner})")
        if epoch is None:
            raise ValueError(f"strftime other than '%s' has no PostgreSQL form here: {inner}")
        return f"floor(extract(epoch FROM CAST({epoch.group(1).strip()} AS timestamptz)))"
    if commas:  # max(a, b) / min(a, b): SQLite's scalar forms
        return f"{'greatest' if name == 'max' else 'least'}({inner})"
    return f"{original}({inner})"


_FROM_SUBQUERY = re.compile(r"\b(FROM|JOIN)\s*\(\s*(SELECT|WITH|VALUES)\b", re.IGNORECASE)
_NOT_ALIAS = {"WHERE", "GROUP", "ORDER", "LIMIT", "OFFSET", "JOIN", "INNER", "LEFT", "RIGHT",
              "FULL", "CROSS", "NATURAL", "UNION", "EXCEPT", "INTERSECT", "HAVING", "WINDOW",
              "ON", "USING", "RETURNING", "FOR"}


def _aliases(sql: str) -> str:
    """`FROM (SELECT …)` without a name gets one (PostgreSQL before 16 requires it)."""
    out, i, n = [], 0, 0
    while i < len(sql):
        end = _skip(sql, i)
        if end != i:
            out.append(sql[i:end])
            i = end
            continue
        m = _FROM_SUBQUERY.match(sql, i)
        if m is None or (i and (sql[i - 1].isalnum() or sql[i - 1] == "_")):
            out.append(sql[i])
            i += 1
            continue
        paren = sql.index("(", i)
        close, _ = _close(sql, paren)
        out.append(sql[i:paren] + "(" + _aliases(sql[paren + 1:close]) + ")")
        i = close + 1
        word = _WORD.match(sql, len(sql[i:]) - len(sql[i:].lstrip()) + i)
        if word is None or word.group(0).upper() in _NOT_ALIAS:
            n += 1
            out.append(f" AS _subquery{n}")
    return "".join(out)


_INTEGER_CAST = re.compile(r"\bAS\s+INTEGER\s*\)", re.IGNORECASE)
_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_USER_VERSION = re.compile(r"^\s*PRAGMA\s+user_version\s*;?\s*$", re.IGNORECASE)
VERSION_SQL = "SELECT coalesce(max(version), 0) AS user_version FROM schema_migrations"


@lru_cache(maxsize=4096)
def translate(sql: str) -> tuple[str, tuple[str | int, ...]]:
    """A statement in SQLite's dialect as PostgreSQL SQL, with its argument order."""
    if _USER_VERSION.match(sql):
        return VERSION_SQL, ()
    text = sql.rstrip().rstrip(";")
    if _OR_IGNORE.match(text):
        text = _OR_IGNORE.sub("INSERT INTO", text, count=1)
        returning = _RETURNING.search(text)
        at = returning.start() if returning else len(text)
        text = f"{text[:at].rstrip()} ON CONFLICT DO NOTHING {text[at:]}".rstrip()
    text = _INTEGER_CAST.sub("AS BIGINT)", _aliases(_functions(text)))
    return placeholders(text)


def arguments(order: tuple[str | int, ...], params: object) -> list[object]:
    """The call's parameters (a sequence or a mapping) in `$n` order."""
    if params is None:
        return []
    if isinstance(params, dict):
        return [params[key] for key in order]
    values = list(params)  # type: ignore[call-overload]
    if not order and values:
        raise ValueError(f"{len(values)} arguments for a statement without placeholders")
    return [values[key - 1] for key in order]  # type: ignore[operator]
