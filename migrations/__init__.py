"""Alembic migrations: the only place DDL lives. ``learnstream migrate`` runs them."""
