"""Backups of the database that restore: SQLite online backup, PostgreSQL pg_dump -Fc / pg_restore."""
