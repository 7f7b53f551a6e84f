"""The training-status engine (受講状況): one rule, and every form of it, in a one-way order.

Each module imports only the ones listed before it (a `layers` contract in pyproject's
[tool.importlinter] checks it; no import inside a function holds a circle together):

1. `rule`   - the pure rule: `training_status` over `TrainingFacts`, `counting_attestation` (revoked
              certificates do not count), the settled form (`standing_of`, `settled_status`,
              `next_status_change`) and the JST calendar (`jst_today`, `validity_end`, …). No database.
2. `facts`  - what the rule needs from the database that is not per pair: each manual's latest and
              required edition and validity (`manual_facts`), the day counts were settled (`settled_on`).
              The per-pair facts are `training_progress` (kept by training.services.record_progress and
              the revocation trigger of migration 0011) and `training_assignments`.
3. `sql`    - the rule's SQL twins: `status_case` (over the facts, for live reads) and
              `settled_status_case` (over a stored row's own columns), and the reads that evaluate them
              inside the database: `status_counts` (the stored counts corrected by the rows stale today:
              exact now; `wide_status_counts`: the same, a row per cell), `department_pairs_select`,
              `live_status_counts`.
4. `stored` - the stored copies `training_status_rows` and `training_status_counts`: `settle`,
              `rebuild`, `check` (CLI `portal training settle-status | rebuild-status | check-status`).
              The triggers of migration 0008 (both dialects) mark a row pending in the same transaction
              as any change to its facts, so the reads stay exact between settles.
5. `reads`  - statuses per person × manual decided in Python by the rule (`status_rows`, `statuses_for`,
              `current_or_due_pairs`): "My training", the access gate, reminders, person pages.

There is one count cache, `training_status_counts`. The dashboards read it through `status_counts`:
department pages, the index and the organisation heat map alike count "as of now", so every page
shows the same figures. Only the trend keeps a daily frozen copy (dashboards' `completion_snapshots`,
one row per day and department, since past statuses cannot be recomputed), and the access gate keeps
its answer in `access_decisions` (portal/access/refresh.py).

A rule change touches, in this order: `rule.training_status` (and `settled_status`/`standing_of`),
the SQL twins in `sql`, the triggers of migration 0008 when the rule reads a new fact (a new
migration for both dialects), then `portal training rebuild-status` after deploying. The tests that
bind the forms together, under tests/: training/test_training_status.py (the pure rule,
table-driven), training/test_training_queries.py (SQL twins = pure rule on every branch and
boundary), training/test_training_status_rows.py (random histories: stored rows, counts and twins
equal the pure rule after every step), training/test_training_revocation.py,
dashboards/test_dashboards_queries.py (the dashboards' counts) and access/test_access_decision.py
(the access gate).

Other features import from this package, never from its modules.
"""
from portal.training.status.facts import ManualFacts, manual_facts, settled_on
from portal.training.status.reads import (
    StatusRow,
    current_or_due_pairs,
    department_status_rows,
    status_rows,
    statuses_for,
)
from portal.training.status.rule import (
    ACCEPTABLE_FOR_ACCESS,
    ATTESTED_EARLIER,
    ATTESTED_REQUIRED,
    CURRENT,
    DUE,
    DUE_SOON_DAYS,
    EXPIRED,
    IN_PROGRESS,
    NOT_REQUIRED,
    NOT_STARTED,
    NOTHING,
    OVERDUE,
    STARTED,
    STATUSES,
    TASK_GROUPS,
    URGENCY_ORDER,
    AttestationFact,
    TrainingFacts,
    add_months,
    counting_attestation,
    earliest_valid_attestation_day,
    jst_date,
    jst_day_start_utc,
    jst_today,
    next_status_change,
    settled_status,
    standing_of,
    task_group,
    training_status,
    validity_end,
)
from portal.training.status.sql import (
    COUNTED,
    assigned_pairs_select,
    department_pairs_select,
    live_status_counts,
    manual_rule_values,
    pair_statuses_sql,
    settled_status_case,
    status_case,
    status_counts,
    wide_status_counts,
)
from portal.training.status.stored import STALE_NOW, check, progress_problems, rebuild, settle

__all__ = [
    "ACCEPTABLE_FOR_ACCESS", "ATTESTED_EARLIER", "ATTESTED_REQUIRED", "COUNTED", "CURRENT", "DUE", "DUE_SOON_DAYS",
    "EXPIRED", "IN_PROGRESS", "NOTHING", "NOT_REQUIRED", "NOT_STARTED", "OVERDUE", "STALE_NOW", "STARTED", "STATUSES",
    "TASK_GROUPS", "URGENCY_ORDER", "AttestationFact", "ManualFacts", "StatusRow", "TrainingFacts", "add_months",
    "assigned_pairs_select", "check", "counting_attestation", "current_or_due_pairs", "department_pairs_select",
    "department_status_rows", "earliest_valid_attestation_day", "jst_date", "jst_day_start_utc", "jst_today",
    "live_status_counts", "manual_facts", "manual_rule_values", "next_status_change", "pair_statuses_sql",
    "progress_problems", "rebuild", "settle", "settled_on", "settled_status", "settled_status_case", "standing_of",
    "status_case", "status_counts", "status_rows", "statuses_for", "task_group", "training_status", "validity_end",
    "wide_status_counts",
]
