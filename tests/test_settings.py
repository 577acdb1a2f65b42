"""Settings whose defaults depend on the rest of the configuration."""

from __future__ import annotations

from pydantic import SecretStr

from medlicense.settings import Settings


def test_review_runs_are_created_one_at_a_time_unless_the_server_is_on_postgresql() -> None:
    # SQLite answers concurrent flow-run creations with "database is locked" (and the
    # client sleeps seconds); PostgreSQL takes them.
    assert Settings(review_starts_at_once=0).resolved_review_starts_at_once == 1
    postgres = SecretStr("postgresql+asyncpg://prefect@db:5432/prefect")
    on_postgres = Settings(review_starts_at_once=0, prefect_database_url=postgres)
    assert on_postgres.resolved_review_starts_at_once == 4
    sqlite = SecretStr("sqlite+aiosqlite:////var/lib/prefect/prefect.db")
    on_sqlite_file = Settings(review_starts_at_once=0, prefect_database_url=sqlite)
    assert on_sqlite_file.resolved_review_starts_at_once == 1
    chosen = Settings(review_starts_at_once=2, prefect_database_url=postgres)
    assert chosen.resolved_review_starts_at_once == 2
