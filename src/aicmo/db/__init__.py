"""Database plumbing: engines for SQLite (WAL) and PostgreSQL, and the migrations."""
