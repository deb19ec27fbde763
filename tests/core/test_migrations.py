"""Every migration has a working downgrade, and the models agree with the migrated schema."""

from __future__ import annotations

import uuid

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from tapwork.migration.revisions import downgrade, upgrade
from tapwork.models import Base


def _scratch_db(server_url: str) -> tuple[str, str]:
    name = f"tapwork_mig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = server_url.rpartition("/")[0]
    return name, f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)


def test_upgrade_downgrade_upgrade_and_models_match(server_url: str) -> None:
    name, url = _scratch_db(server_url)
    try:
        upgrade(url)
        downgrade(url, "base")
        sync = create_engine(url)
        with sync.connect() as conn:
            tables = conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables"
                " WHERE schemaname='public' AND tablename <> 'alembic_version'"
            ).all()
            assert tables == [], f"downgrade left tables behind: {tables}"
        upgrade(url)
        with sync.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "include_object": lambda obj, name, type_, reflected, other: (
                        not (type_ == "table" and (name or "").startswith("procrastinate"))
                    ),
                },
            )
            diff = compare_metadata(context, Base.metadata)
        sync.dispose()
        assert diff == [], f"models and migrations disagree: {diff}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
