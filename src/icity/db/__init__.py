"""Storage: SQLAlchemy models, engines and Alembic migrations."""
