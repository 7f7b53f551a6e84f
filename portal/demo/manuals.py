"""Demo manuals: publish the repository's manuals/ and quizzes/ once the demo organisation is loaded."""
from __future__ import annotations

from flask_babel import force_locale
from sqlalchemy import func, select

from portal.demo.organisation import DEMO_DEPARTMENTS
from portal.extensions import db
from portal.manuals.assignments import today_jst
from portal.manuals.planning import REPOSITORY
from portal.manuals.problems import PublishRefused, describe
from portal.manuals.services import publish_from_repository
from portal.org.models import Department


def publish_demo_manuals() -> int:
    """Publish the demo manuals (every edition in the repository); 0 when the demo departments are absent.

    The demo manuals' audiences name the demo departments, so a large benchmark organisation
    (other department codes) gets no manuals here: its benchmark publishes its own.
    """
    codes = [code for code, *_rest in DEMO_DEPARTMENTS]
    present = db.session.scalar(select(func.count(Department.id)).where(Department.code.in_(codes)))
    if present != len(codes):
        return 0
    try:
        _plan, editions = publish_from_repository(None, REPOSITORY / "manuals", REPOSITORY / "quizzes", today_jst())
    except PublishRefused as refused:
        with force_locale("en"):
            problems = "; ".join(map(describe, refused.problems))
        raise RuntimeError(f"demo manuals refused: {problems}") from None
    return len(editions)
