"""The schema comes only from migrations, and they agree with the models."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.extensions import db


def test_models_and_migrations_agree(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_audit_rows_cannot_be_updated_or_deleted_by_the_app(app, make_person):
    import pytest
    from sqlalchemy import text

    from portal.audit.services import record_event

    record_event(make_person("E1"), "test.event", reason="first")
    db.session.commit()
    for statement in ("UPDATE audit_events SET reason = 'edited'", "DELETE FROM audit_events"):
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.execute(text("SELECT reason FROM audit_events")).scalar_one() == "first"
