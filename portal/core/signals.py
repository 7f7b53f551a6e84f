"""The signals features send to the features above them (blinker, as Indico's core/signals).

A lower feature never imports a higher one: it sends a signal here, and the higher feature
subscribes when the app is wired (`portal.wiring.wire_features`, called by create_app).
Signals are synchronous: every subscriber runs inside the sender's call and transaction, so a
subscriber flushes but never commits, and an exception in it rolls the sender's work back too.
Subscribers receive the sender (a short name such as "org") and the keyword arguments below.
"""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

people_changed = _signals.signal("people-changed", doc="""\
People were created, moved, (de)activated, or their roles or managed departments changed.

Sent by org (HR import, role changes) after its rows are flushed. Keyword arguments:
`person_ids` (a list, or None for "anyone may have changed") and `now` (a datetime or None).
Subscribers may re-derive what follows from the organisation (manuals: the assignments). Access
listens to manual_assignments_changed instead, which manuals sends once it has reconciled: blinker
promises no order between subscribers, and access must see the new assignments.""")

manual_assignments_changed = _signals.signal("manual-assignments-changed", doc="""\
Who must read which manual was reconciled (it may or may not have changed).

Sent by manuals after reconciling assignments for changed people. Keyword arguments:
`person_ids` (a list, or None for everyone) and `now` (a datetime or None). Subscribers may
re-derive what depends on training duties (access: its stored decisions, suspending grants).""")

edition_published = _signals.signal("edition-published", doc="""\
New manual editions were published and assignments reconciled (due dates may have moved).

Sent by manuals once per published plan. Keyword arguments: `editions` (the new ManualEdition
rows). Subscribers may re-derive what depends on due dates (access: its stored decisions).""")

attested = _signals.signal("attested", doc="""\
A person attested an edition (their training status for that manual may now be valid).

Sent by training after the attestation row is flushed. Keyword arguments: `person_id`,
`manual_id`, `attestation`, `now`. Subscribers may re-derive what depends on training status
(access: a suspended grant comes back in force at once).""")

attestation_revoked = _signals.signal("attestation-revoked", doc="""\
An attestation's certificate was revoked (it no longer counts as training).

Sent by certificates after the revocation row is flushed. Keyword arguments: `person_id`,
`attestation_id`, `now`. Subscribers may re-derive what depends on training status
(access: grants that need that manual are suspended now).""")

mail_queued = _signals.signal("mail-queued", doc="""\
A commit put mail in the outbox.

Sent by outbox after that commit, outside any transaction; no keyword arguments. Subscribers
may wake whoever sends it (jobs: enqueue the outbox.drain task, which logs a failure rather than
raising: the mail is committed, and the minute's sweep sends it anyway).""")

daily_run_started = _signals.signal("daily-run-started", doc="""\
The daily reminder run begins.

Sent by reminders before it claims today's reminders (unless told not to count). Keyword
arguments: `today` (the JST date) and `now`. Subscribers may take their daily counts (dashboards:
the day's completion snapshot) and flush; the sender commits right after.""")
