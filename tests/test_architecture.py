"""The domain stays pure: nothing under domain/ imports the shell or an I/O library."""

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parent.parent / "domain"
FORBIDDEN = frozenset({"bot", "telegram", "aiosqlite", "sqlite3", "asyncpg", "babel", "fastapi",
                       "starlette", "httpx", "uvicorn"})


def forbidden_imports(source: str) -> list[str]:
    """Every top-level package a source imports that the domain may not depend on."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [name for name in names if name.split(".")[0] in FORBIDDEN]
    return found


def domain_modules() -> list[Path]:
    return sorted(DOMAIN.rglob("*.py"))


def test_the_domain_package_has_modules_to_check() -> None:
    names = {path.name for path in domain_modules()}

    assert {"money.py", "policy.py", "ledger.py", "events.py"} <= names


@pytest.mark.parametrize("path", domain_modules(), ids=lambda p: p.name)
def test_a_domain_module_imports_nothing_from_the_shell_or_io(path: Path) -> None:
    leaks = forbidden_imports(path.read_text(encoding="utf-8"))

    assert leaks == [], f"{path.name} imports {leaks}"


@pytest.mark.parametrize("source", [
    "import telegram",
    "import os, sqlite3",
    "from bot.app import build_application",
    "from babel.numbers import format_currency",
    "import httpx as client",
    "def f():\n    import aiosqlite\n",
    "if TYPE_CHECKING:\n    from fastapi import FastAPI\n",
    "from starlette import responses",
    "import uvicorn.main",
    "from asyncpg import Connection",
])
def test_the_checker_flags_a_forbidden_import(source: str) -> None:
    leaks = forbidden_imports(source)

    assert len(leaks) == 1


@pytest.mark.parametrize("source", [
    "import decimal",
    "from domain.money import Money",
    "from . import bot",
    "import botocore",
    "from pydantic import BaseModel",
])
def test_the_checker_lets_allowed_imports_through(source: str) -> None:
    assert forbidden_imports(source) == []
