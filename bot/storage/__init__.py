"""The aiosqlite storage adapter of the deposit core."""
