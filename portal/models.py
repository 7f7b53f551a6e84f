"""Imports every model module so SQLAlchemy's metadata is complete."""
from portal.audit.models import AuditEvent  # noqa: F401
from portal.org.models import Department, Person, PersonRole, department_managers  # noqa: F401
from portal.manuals.models import Manual, ManualEdition, QuizVersion, TrainingAssignment  # noqa: F401
from portal.access.models import AccessDecision, AccessEvent, AccessGrant, AccessRequest, ApiToken, DepartmentCap, ProtectedSystem, ReviewCampaign, ReviewItem  # noqa: F401
from portal.instructions.models import Instruction, InstructionAcknowledgement, InstructionAttachment, InstructionRecipient, InstructionReminder  # noqa: F401
from portal.training.models import Attestation, QuizAttempt, TrainingProgress  # noqa: F401
from portal.certificates.models import CertificateRevocation  # noqa: F401  (issue 5)
from portal.dashboards.models import CompletionCell, CompletionSnapshot  # noqa: F401  (issue 5)
from portal.reminders.models import ReminderLog  # noqa: F401  (issue 5)
from portal.lookups.models import LookupEvent, LookupRequest  # noqa: F401  (issue 7, look-up requests)
from portal.auth.models import AccountToken, RecoveryCode, TwoFactor  # noqa: F401  (local accounts)
from portal.auth.models import OidcUsedValue  # noqa: F401  (company SSO: used state/nonce/jti)
from portal.org.history import PersonDepartmentHistory  # noqa: F401  (standing cap and history)
from portal.access.control_models import CapExcess, CoverageSnapshot, TransferConfirmation  # noqa: F401  (standing cap)
from portal.jobs.models import Job, JobPart, ScheduleRun  # noqa: F401  (jobs and schedules)
from portal.outbox.models import OutboxMail  # noqa: F401  (the mail outbox)
