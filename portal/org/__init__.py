"""Organisation: departments, people, roles, HR import."""
from portal.org.models import DEPARTMENT_KINDS, ROLES, Department, Person, PersonRole

__all__ = ["DEPARTMENT_KINDS", "ROLES", "Department", "Person", "PersonRole"]
