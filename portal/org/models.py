"""Organisation: departments and people, their roles and the departments they manage."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.i18n import in_language
from portal.core.timeutil import utcnow
from portal.extensions import db

DEPARTMENT_KINDS = ("internal", "agency")
ROLES = ("employee", "manager", "training_admin", "grant_owner", "auditor", "admin")

#: Which people manage which departments (a manager may manage several).
department_managers = Table(
    "department_managers",
    db.metadata,
    Column("person_id", ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
)


class Department(db.Model):
    """An organisational unit of the company, or a sales agency (販売委託会社)."""

    __tablename__ = "departments"
    __table_args__ = (CheckConstraint("kind IN ('internal', 'agency')", name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable code from HR, used in audiences and imports.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_ja: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    #: internal (社内) or agency (販売委託会社).
    kind: Mapped[str] = mapped_column(String(16), default="internal")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[Department | None] = relationship(remote_side=[id])

    def display_name(self, locale: str) -> str:
        """Name in the viewer's language, falling back to Japanese."""
        return in_language(locale, self.name_ja, self.name_en)


class PersonRole(db.Model):
    """One role held by one person; employee is implied for everyone active."""

    __tablename__ = "person_roles"
    __table_args__ = (
        CheckConstraint(
            "role IN ('employee', 'manager', 'training_admin', 'grant_owner', 'auditor', 'admin')",
            name="role_known",
        ),
    )

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class Person(UserMixin, db.Model):
    """Someone in the organisation (社員 / 利用者), identified by employee_no."""

    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("employee_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_no: Mapped[str] = mapped_column(String(40))
    #: Full name as HR spells it; may contain 外字 such as 髙, 﨑, 𠮷.
    name: Mapped[str] = mapped_column(String(200))
    #: Reading in kana, for sorting lists.
    name_kana: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    #: argon2 hash; empty means the person cannot sign in locally.
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    #: Bumped on logout, password change and deactivation: every older session dies.
    session_version: Mapped[int] = mapped_column(default=1)
    #: Preferred interface language, empty for the browser's choice.
    locale: Mapped[str] = mapped_column(String(8), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    department: Mapped[Department] = relationship(lazy="joined")
    role_rows: Mapped[list[PersonRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    managed_departments: Mapped[list[Department]] = relationship(
        secondary=department_managers, lazy="selectin", order_by=Department.code
    )

    @property
    def roles(self) -> frozenset[str]:
        """The person's roles; every active person is at least an employee."""
        return frozenset({"employee", *(row.role for row in self.role_rows)})

    def has_role(self, *wanted: str) -> bool:
        """True when the person holds any of the wanted roles."""
        return bool(self.roles.intersection(wanted))

    def get_id(self) -> str:
        """Flask-Login identity: id and session version, so old cookies stop working."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive people
        return self.active
