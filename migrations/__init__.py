"""Alembic migrations (async env, batch mode for SQLite), shipped inside the package."""
