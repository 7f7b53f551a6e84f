"""Invitations through a real SMTP server: the link in the mail sets a password and signs the
person in, works once, expires after 72 hours, and a newer one replaces it; bulk invitations
after an HR import; deactivation stops links and sessions at once."""
from __future__ import annotations

import threading

from sqlalchemy import select, update

from portal.audit.models import AuditEvent
from portal.auth.models import AccountToken
from portal.extensions import db
from portal.org.models import Department, Person
from tests.accounts_fixtures import NEW_PASSWORD, body_of, link_path, post_form, set_password
from tests.conftest import _csrf_token, https_client, sign_in


def _newcomer(department: Department, number: str = "AG1001", email: str = "ao@agency.example",
              locale: str = "") -> Person:
    """A person from the HR import: no password yet."""
    person = Person(employee_no=number, name="青木 翼", name_kana="あおき つばさ", email=email,
                    department=department, password_hash="", locale=locale)
    db.session.add(person)
    db.session.commit()
    return person


def _invite(client, person: Person):
    return post_form(client, f"/accounts/people/{person.id}/invitation", {}, page=f"/org/people/{person.id}")


def _actions(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def test_invitation_link_sets_the_password_and_signs_in_once(app, client, make_department, make_person, login,
                                                              mailbox):
    agency = make_department("AGENCY", name_ja="東北販売株式会社", kind="agency")
    admin = make_person("S1", roles=("admin",))
    person = _newcomer(agency)
    login(admin)
    response = _invite(client, person)
    assert response.status_code == 302
    assert "ao@agency.example に招待を送りました" in client.get(response.headers["Location"]).get_data(as_text=True)

    [message] = mailbox.to("ao@agency.example")
    assert message["Subject"] == "【研修ポータル】ログインのご案内（パスワードの設定）"
    assert "青木 翼 様" in body_of(message) and "社員番号: AG1001" in body_of(message)
    path = link_path(message)
    stored = db.session.scalars(select(AccountToken)).one()
    assert path.rsplit("/", 1)[1] not in (stored.token_hash, str(stored.id))  # only the hash is stored
    assert len(stored.token_hash) == 64

    browser = https_client(app)
    page = browser.get(path).get_data(as_text=True)
    assert "パスワードの設定" in page and "AG1001" in page
    done = set_password(browser, path)
    assert done.status_code == 302
    home = browser.get("/")
    assert home.status_code == 200 and "青木 翼" in home.get_data(as_text=True)

    again = https_client(app).get(path)
    assert again.status_code == 410 and "このリンクは使用済みです" in again.get_data(as_text=True)
    replay = set_password(https_client(app), path, "another-long-unrelated-phrase")
    assert replay.status_code == 410
    db.session.expire_all()
    assert db.session.get(Person, person.id).password_hash.startswith("$argon2")
    assert [e.object_id for e in _actions("account.invitation_sent")] == ["AG1001"]
    [used] = _actions("account.password_set")
    assert used.details_json == '{"link": %d, "via": "invitation"}' % stored.id

    signed_in = https_client(app)
    assert sign_in(signed_in, person, NEW_PASSWORD).status_code == 302


def test_the_mail_follows_the_persons_language(app, client, make_department, make_person, login, mailbox):
    admin = make_person("S1", roles=("admin",))
    person = _newcomer(make_department("AGENCY", kind="agency"), locale="en")
    login(admin)
    _invite(client, person)
    [message] = mailbox.messages
    assert message["Subject"] == "[Training portal] Your sign-in invitation: set your password"
    assert "Dear 青木 翼" in body_of(message) and "72 hours" in body_of(message)


def test_an_expired_link_is_refused_with_a_clear_page(app, client, clock, make_department, make_person, login,
                                                      mailbox):
    admin = make_person("S1", roles=("admin",))
    person = _newcomer(make_department("AGENCY", kind="agency"))
    login(admin)
    _invite(client, person)
    path = link_path(mailbox.messages[0])
    clock.advance(hours=71, minutes=59)
    assert https_client(app).get(path).status_code == 200
    clock.advance(minutes=2)
    browser = https_client(app)
    response = browser.get(path)
    assert response.status_code == 410
    assert "有効期限が切れています。管理者に招待の再送を依頼してください。" in response.get_data(as_text=True)
    assert set_password(https_client(app), path).status_code == 410
    db.session.expire_all()
    assert db.session.get(Person, person.id).password_hash == ""


def test_a_new_invitation_supersedes_the_old_link(app, client, make_department, make_person, login, mailbox):
    admin = make_person("S1", roles=("admin",))
    person = _newcomer(make_department("AGENCY", kind="agency"))
    login(admin)
    _invite(client, person)
    _invite(client, person)
    first, second = (link_path(m) for m in mailbox.messages)
    old = https_client(app).get(first)
    assert old.status_code == 410 and "最新のメールのリンクを使ってください" in old.get_data(as_text=True)
    assert set_password(https_client(app), second).status_code == 302
    assert https_client(app).get("/account/link/made-up-token").status_code == 404


def test_a_weak_password_is_refused_on_the_link_page_and_the_link_still_works(app, client, make_department,
                                                                              make_person, login, mailbox):
    admin = make_person("S1", roles=("admin",))
    person = _newcomer(make_department("AGENCY", kind="agency"))
    login(admin)
    _invite(client, person)
    path = link_path(mailbox.messages[0])
    browser = https_client(app)
    refused = set_password(browser, path, "AG1001-aoki-tsubasa")
    assert refused.status_code == 400
    assert "パスワードに社員番号を含めないでください。" in refused.get_data(as_text=True)
    differ = set_password(browser, path, NEW_PASSWORD, again=NEW_PASSWORD + "x")
    assert differ.status_code == 400
    assert set_password(browser, path).status_code == 302


def test_people_without_e_mail_or_inactive_are_not_invited(app, client, make_department, make_person, login,
                                                           mailbox):
    admin = make_person("S1", roles=("admin",))
    agency = make_department("AGENCY", kind="agency")
    no_mail = _newcomer(agency, "AG1002", email="")
    gone = _newcomer(agency, "AG1003", email="gone@agency.example")
    gone.active = False
    db.session.commit()
    login(admin)
    page = client.get(_invite(client, no_mail).headers["Location"]).get_data(as_text=True)
    assert "メールアドレスがないため、招待は送っていません" in page
    page = client.get(_invite(client, gone).headers["Location"]).get_data(as_text=True)
    assert "無効になっているため、招待は送っていません" in page
    assert mailbox.messages == [] and db.session.scalars(select(AccountToken)).all() == []


def test_bulk_invitation_reaches_only_new_people_of_the_department(app, client, make_department, make_person, login,
                                                                   mailbox):
    admin = make_person("S1", roles=("admin",))
    agency = make_department("AGENCY", name_ja="東北販売株式会社", kind="agency")
    other = make_department("CUST")
    new_ones = [_newcomer(agency, f"AG20{n}", email=f"ag{n}@agency.example") for n in (1, 2)]
    _newcomer(agency, "AG203", email="")  # no address: listed, not invited
    make_person("AG204", department=agency)  # has a password already
    _newcomer(other, "CU001", email="cu@example.co.jp")  # another department
    left = _newcomer(agency, "AG205", email="left@agency.example")
    left.active = False
    db.session.commit()
    login(admin)
    preview = client.get(f"/accounts/invitations?department={agency.id}").get_data(as_text=True)
    assert "AG201" in preview and "AG203" in preview and "AG204" not in preview and "CU001" not in preview
    assert "2 人に招待を送る" in preview
    response = post_form(client, "/accounts/invitations", {"department": str(agency.id)},
                         page=f"/accounts/invitations?department={agency.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "2 人に招待を送りました" in page and "AG203" in page
    assert sorted(m["To"] for m in mailbox.messages) == ["ag1@agency.example", "ag2@agency.example"]
    assert sorted(e.object_id for e in _actions("account.invitation_sent")) == [p.employee_no for p in new_ones]
    # Sending again invites nobody: everyone left has an open invitation or no address.
    again = post_form(client, "/accounts/invitations", {"department": str(agency.id)},
                      page=f"/accounts/invitations?department={agency.id}")
    assert "0 人に招待を送りました" in again.get_data(as_text=True) and len(mailbox.messages) == 2


def test_the_person_page_shows_the_account_to_admins_only(app, client, make_department, make_person, login, mailbox):
    agency = make_department("AGENCY", kind="agency")
    person = _newcomer(agency)
    admin = make_person("S1", roles=("admin",))
    login(admin)
    _invite(client, person)
    page = client.get(f"/org/people/{person.id}").get_data(as_text=True)
    assert "ログイン用アカウント" in page and "まで有効" in page and "ログインの招待を送る" in page
    manager = make_person("M1", roles=("manager",), department=agency, manages=[agency])
    browser = https_client(app)
    sign_in(browser, manager)
    assert "ログイン用アカウント" not in browser.get(f"/org/people/{person.id}").get_data(as_text=True)


def test_deactivation_stops_links_and_sessions_at_once(app, client, make_department, make_person, login, mailbox):
    admin = make_person("S1", roles=("admin",))
    agency = make_department("AGENCY", kind="agency")
    person = _newcomer(agency)
    login(admin)
    _invite(client, person)
    path = link_path(mailbox.messages[0])
    browser = https_client(app)
    assert set_password(browser, path).status_code == 302
    assert browser.get("/").status_code == 200
    _invite(client, person)  # a second link, still open
    second = link_path(mailbox.messages[1])
    # Deactivation as the HR import does it: inactive, session version bumped.
    db.session.execute(update(Person).where(Person.id == person.id)
                       .values(active=False, session_version=Person.session_version + 1))
    db.session.commit()
    assert browser.get("/").status_code == 302  # the open session is refused at the next request
    refused = https_client(app).get(second)
    assert refused.status_code == 410 and "このアカウントは無効になっています" in refused.get_data(as_text=True)
    assert set_password(https_client(app), second).status_code == 410


def test_deactivation_also_refuses_an_open_session_without_a_version_bump(app, client, make_department,
                                                                          make_person, login, mailbox):
    person = make_person("AG3001", department=make_department("AGENCY", kind="agency"))
    login(person)
    db.session.execute(update(Person).where(Person.id == person.id).values(active=False))
    db.session.commit()
    assert client.get("/").status_code == 302



def test_twenty_submissions_of_one_link_at_once_set_the_password_once(app, client, make_department, make_person,
                                                                     login, mailbox):
    admin = make_person("S1", roles=("admin",))
    person = _newcomer(make_department("AGENCY", kind="agency"))
    login(admin)
    _invite(client, person)
    path = link_path(mailbox.messages[0])
    browser = https_client(app)
    token = _csrf_token(browser.get(path).get_data(as_text=True))
    cookie = browser.get_cookie("portal_session").value
    barrier, codes, lock = threading.Barrier(20), [], threading.Lock()

    def worker(n: int):
        copy = https_client(app)
        copy.set_cookie("portal_session", cookie, domain="localhost")
        barrier.wait()
        password = f"{NEW_PASSWORD}-{n}"
        response = copy.post(path, data={"new_password": password, "confirm_password": password, "csrf_token": token})
        response.close()
        with lock:
            codes.append(response.status_code)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(codes) == [302] + [410] * 19
    assert len(_actions("account.password_set")) == 1
