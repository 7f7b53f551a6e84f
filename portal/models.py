"""Imports every model module so SQLAlchemy's metadata is complete."""
from portal.access.control_models import CapExcess, CoverageSnapshot, TransferConfirmation  # noqa: F401  (standing cap)
from portal.access.models import (  # noqa: F401
    AccessDecision,
    AccessEvent,
    AccessGrant,
    AccessRequest,
    ApiToken,
    DepartmentCap,
    ProtectedSystem,
    ReviewCampaign,
    ReviewItem,
)
from portal.audit.models import AuditEvent  # noqa: F401
from portal.auth.models import (  # noqa: F401  (local accounts)
    AccountToken,
    OidcUsedValue,  # noqa: F401  (company SSO: used state/nonce/jti)
    RecoveryCode,
    TwoFactor,
)
from portal.certificates.models import CertificateRevocation  # noqa: F401
from portal.dashboards.models import CompletionSnapshot  # noqa: F401
from portal.instructions.models import (  # noqa: F401
    Instruction,
    InstructionAcknowledgement,
    InstructionAttachment,
    InstructionRecipient,
    InstructionReminder,
)
from portal.jobs.models import Job, JobPart, ScheduleRun  # noqa: F401  (jobs and schedules)
from portal.lookups.models import LookupEvent, LookupRequest  # noqa: F401
from portal.manuals.models import Manual, ManualEdition, QuizVersion, TrainingAssignment  # noqa: F401
from portal.org.history import PersonDepartmentHistory  # noqa: F401  (standing cap and history)
from portal.org.models import Department, Person, PersonRole, department_managers  # noqa: F401
from portal.outbox.models import OutboxMail  # noqa: F401  (the mail outbox)
from portal.reminders.models import ReminderLog  # noqa: F401
from portal.training.models import Attestation, QuizAttempt, TrainingProgress  # noqa: F401
