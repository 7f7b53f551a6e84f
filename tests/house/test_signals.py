"""Features talk to the features above them through signals (portal/core/signals.py).

The effects are tested where they matter to people (test_access_integration.py: attesting, publishing
and the HR import; test_training_revocation.py: revoking; test_org_roles.py: role audiences); these
tests pin what each sender promises and that create_app connects every subscriber.
"""
from __future__ import annotations

from blinker import Signal

from portal.core import signals
from portal.extensions import db
from portal.org.services import change_roles

SUBSCRIBED = {
    "people_changed": "reassign_after_people_changed",
    "manual_assignments_changed": "refresh_after_assignments",
    "edition_published": "refresh_after_publishing",
    "attested": "refresh_after_training",
    "attestation_revoked": "refresh_after_training",
    "daily_run_started": "count_before_daily_run",
    "mail_queued": "wake_outbox",
}


def test_every_signal_is_documented_and_has_its_subscriber_once_the_app_exists(app):
    declared = {name for name, value in vars(signals).items() if isinstance(value, Signal)}
    assert declared == set(SUBSCRIBED)
    for name, receiver in SUBSCRIBED.items():
        signal = getattr(signals, name)
        doc = " ".join(signal.__doc__.split())
        assert "Sent by" in doc and "Subscribers may" in doc, name
        assert receiver in {fn.__name__ for fn in signal.receivers.values()}, name


def test_a_role_change_tells_the_features_above_who_changed(app, make_person, make_department):
    front = make_department("CUST-FRONT", "お客様フロント部")
    admin = make_person("S1", roles=("admin",), department=front)
    person = make_person("E1", department=front)
    heard = []

    def listen(sender, **kwargs):
        heard.append((sender, signals.people_changed, kwargs))

    def after(sender, **kwargs):
        heard.append((sender, signals.manual_assignments_changed, kwargs))

    with signals.people_changed.connected_to(listen), signals.manual_assignments_changed.connected_to(after):
        assert change_roles(admin, person, ["manager"], [front.id], "leads the front office")
    db.session.rollback()
    # manuals hears org and, once it has reconciled, tells access (inside org's call: it comes first here)
    assert sorted((sender, signal.name) for sender, signal, _kwargs in heard) == [
        ("manuals", "manual-assignments-changed"), ("org", "people-changed")]
    assert all(kwargs["person_ids"] == [person.id] for _s, _signal, kwargs in heard)


def test_nothing_is_sent_when_nothing_changed(app, make_person, make_department):
    front = make_department("CUST-FRONT", "お客様フロント部")
    admin = make_person("S1", roles=("admin",), department=front)
    person = make_person("E1", department=front)
    heard = []
    with signals.people_changed.connected_to(lambda sender, **kwargs: heard.append(sender)):
        assert not change_roles(admin, person, [], [], "no change at all")
    assert heard == []
