"""The storage adapters of the deposit core: SQLite (aiosqlite) and PostgreSQL (asyncpg)."""
