"""Imports every model module so SQLAlchemy's metadata is complete."""
from portal.audit.models import AuditEvent  # noqa: F401
from portal.org.models import Department, Person, PersonRole, department_managers  # noqa: F401
from portal.manuals.models import Manual, ManualEdition, QuizVersion, TrainingAssignment  # noqa: F401
