"""The store: SQLAlchemy models, Alembic migrations, idempotent bulk writes, queries."""
