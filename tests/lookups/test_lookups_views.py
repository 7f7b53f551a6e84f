"""Look-up pages as people (and attackers) use them: who sees what, who may act, bad input on the
form naming the field, a race between two handlers, CSRF."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.lookups.models import LookupEvent, LookupRequest
from portal.lookups.services import answer_lookup, decide_lookup_approval, withdraw_lookup
from tests.access_fixtures import PURPOSES
from tests.conftest import csrf_token_from, https_client, sign_in
from tests.lookups_fixtures import EXPLANATION, QUESTION, approved, ask, taken

SUMMARY = "入力内容に問題があります"


def browser(app, person):
    """Another browser, signed in as this person."""
    client = https_client(app)
    assert sign_in(client, person).status_code == 302
    return client


def post(client, url: str, data: dict | None = None):
    return client.post(url, data={"csrf_token": csrf_token_from(client, "/lookups/"), **(data or {})})


def _reload(lookup) -> LookupRequest:
    db.session.expire_all()
    return db.session.get(LookupRequest, lookup.id)


def test_file_approve_take_answer_through_the_pages(app, lw):
    requester = browser(app, lw.requester)
    form = requester.get("/lookups/systems/customer-info/new").get_data(as_text=True)
    assert "※必須" in form and "お客様番号または受付番号" in form
    response = post(requester, "/lookups/systems/customer-info/new", {
        "purpose": PURPOSES[0], "explanation": EXPLANATION, "question": QUESTION, "reference": "ORD-1"})
    assert response.status_code == 302
    lookup = db.session.scalar(select(LookupRequest))
    manager = browser(app, lw.manager)
    assert f"/lookups/{lookup.id}" in manager.get("/lookups/inbox").get_data(as_text=True)
    response = post(manager, f"/lookups/{lookup.id}/approval",
                    {"decision": "approve", "reason": "業務上必要と確認した。"})
    assert response.status_code == 302
    handler = browser(app, lw.handler)
    queue = handler.get("/lookups/queue").get_data(as_text=True)
    assert f"/lookups/{lookup.id}" in queue
    assert "この依頼を引き受ける" in handler.get(f"/lookups/{lookup.id}").get_data(as_text=True)
    assert post(handler, f"/lookups/{lookup.id}/take").status_code == 302
    response = post(handler, f"/lookups/{lookup.id}/answer",
                    {"checked": "契約一覧（光回線）", "answer": "契約あり（1回線）"})
    assert response.status_code == 302
    page = requester.get(f"/lookups/{lookup.id}").get_data(as_text=True)
    assert "回答済み" in page and "契約あり（1回線）" in page and "照会担当者が引受け" in page
    assert _reload(lookup).status == "answered"


@pytest.mark.parametrize("fields, label, message", [
    ({"explanation": ""}, "利用目的の説明", "照会が必要な理由を説明してください。"),
    ({"explanation": "。。。"}, "利用目的の説明", "照会が必要な理由を説明してください。"),
    ({"explanation": "確認のため"}, "利用目的の説明", "利用目的の説明は、文字・数字で20字以上書いてください。"),
    ({"purpose": ""}, "利用目的", "利用目的を一覧から選んでください。"),
    ({"question": ""}, "確認してほしい内容", "確認してほしい内容を入力してください。"),
    ({"question": "090-1234-5678 のお客様の契約"}, "確認してほしい内容", "電話番号のようです。"),
    ({"reference": "山田太郎"}, "お客様番号または受付番号", "番号だけを入力してください"),
])
def test_bad_input_is_shown_on_the_form_naming_the_field(app, lw, fields, label, message):
    requester = browser(app, lw.requester)
    data = {"purpose": PURPOSES[0], "explanation": EXPLANATION, "question": QUESTION, "reference": "", **fields}
    response = post(requester, "/lookups/systems/customer-info/new", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert SUMMARY in page and f"{label}: {message}" in page
    assert db.session.scalar(select(func.count()).select_from(LookupRequest)) == 0


def test_answer_missing_is_refused_on_the_form(app, lw):
    lookup = taken(lw)
    handler = browser(app, lw.handler)
    response = post(handler, f"/lookups/{lookup.id}/answer", {"checked": "契約一覧", "answer": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and SUMMARY in page and "回答: 回答を入力してください。" in page
    assert _reload(lookup).status == "in_progress"


def test_refusal_needs_a_reason(app, lw):
    lookup = ask(lw)
    manager = browser(app, lw.manager)
    response = post(manager, f"/lookups/{lookup.id}/approval", {"decision": "refuse", "reason": "x"})
    assert response.status_code == 400 and "理由: 理由を入力してください" in response.get_data(as_text=True)
    assert _reload(lookup).status == "awaiting_approval"


def test_acting_in_the_wrong_state_says_so_and_changes_nothing(app, lw):
    lookup = approved(lw)
    manager = browser(app, lw.manager)
    response = post(manager, f"/lookups/{lookup.id}/approval", {"decision": "refuse", "reason": "やはり不要と判断"})
    assert response.status_code == 409
    assert f"この照会依頼はすでに{lw.manager.name}さんが承認しました" in response.get_data(as_text=True)
    assert _reload(lookup).status == "awaiting_handler"


def _visibility(app, lw, lookup) -> dict[str, int]:
    people = {"requester": lw.requester, "colleague": lw.colleague, "manager": lw.manager,
              "handler": lw.handler, "handler2": lw.handler2, "bystander": lw.bystander,
              "outsider": lw.outsider, "back_manager": lw.back_manager, "auditor": lw.auditor, "admin": lw.admin,
              "grant_owner": lw.access.owner}
    return {name: browser(app, person).get(f"/lookups/{lookup.id}").status_code for name, person in people.items()}


def test_only_those_involved_their_managers_and_auditors_see_a_request(app, lw):
    waiting = ask(lw)
    assert _visibility(app, lw, waiting) == {
        "requester": 200, "colleague": 404, "manager": 200, "handler": 404, "handler2": 404, "bystander": 404,
        "outsider": 404, "back_manager": 404, "auditor": 200, "admin": 200, "grant_owner": 404}


def test_approved_requests_show_to_current_grant_holders_until_someone_takes_one(app, lw):
    lookup = approved(lw)
    seen = _visibility(app, lw, lookup)
    assert seen["handler"] == seen["handler2"] == 200 and seen["bystander"] == 404 and seen["colleague"] == 404
    db.session.expire_all()
    from portal.lookups.services import take_lookup

    take_lookup(lw.handler, db.session.get(LookupRequest, lookup.id))
    db.session.commit()
    seen = _visibility(app, lw, lookup)
    assert seen["handler"] == 200 and seen["handler2"] == 404 and seen["requester"] == 200
    assert seen["manager"] == 200 and seen["auditor"] == 200 and seen["outsider"] == 404


def test_the_requester_cannot_take_or_answer_their_own_request(app, lw):
    lookup = approved(lw)
    requester = browser(app, lw.requester)
    assert "この依頼を引き受ける" not in requester.get(f"/lookups/{lookup.id}").get_data(as_text=True)
    response = post(requester, f"/lookups/{lookup.id}/take")
    assert response.status_code == 302
    assert "自分の照会依頼を承認したり対応したりすることはできません。" in requester.get(
        response.headers["Location"]).get_data(as_text=True)
    assert _reload(lookup).handler_id is None


def test_a_manager_cannot_approve_their_own_request(app, lw, make_person):
    lookup = ask(lw, lw.colleague)
    colleague = browser(app, lw.colleague)
    response = post(colleague, f"/lookups/{lookup.id}/approval", {"decision": "approve", "reason": "自分で承認"})
    assert response.status_code == 403  # not a manager at all
    outsider = browser(app, lw.outsider)
    response = post(outsider, f"/lookups/{lookup.id}/approval", {"decision": "approve", "reason": "承認します"})
    assert response.status_code == 404  # not their department: the same answer as no such request
    assert _reload(lookup).status == "awaiting_approval"


def test_auditors_read_everything_and_change_nothing(app, lw):
    lookup = approved(lw)
    auditor = browser(app, lw.auditor)
    page = auditor.get(f"/lookups/{lookup.id}").get_data(as_text=True)
    assert "この依頼を引き受ける" not in page and "判断を記録する" not in page
    token = csrf_token_from(auditor, "/lookups/")
    for url in (f"/lookups/{lookup.id}/take", f"/lookups/{lookup.id}/answer", f"/lookups/{lookup.id}/withdraw",
                "/lookups/systems/customer-info/new"):
        assert auditor.post(url, data={"csrf_token": token}).status_code == 403
    assert _reload(lookup).status == "awaiting_handler"


def test_posts_without_a_csrf_token_are_refused(app, lw):
    lookup = approved(lw)
    handler = browser(app, lw.handler)
    assert handler.post(f"/lookups/{lookup.id}/take").status_code in (400, 403)
    assert handler.get(f"/lookups/{lookup.id}/take").status_code == 405
    assert _reload(lookup).handler_id is None


def test_withdrawal_through_the_page(app, lw):
    lookup = ask(lw)
    requester = browser(app, lw.requester)
    assert post(requester, f"/lookups/{lookup.id}/withdraw", {"reason": "不要になった"}).status_code == 302
    assert _reload(lookup).status == "withdrawn"


def test_a_handler_who_comes_second_is_told_and_sent_back_to_the_queue(app, lw):
    lookup = approved(lw)
    first, second = browser(app, lw.handler), browser(app, lw.handler2)
    assert post(first, f"/lookups/{lookup.id}/take").status_code == 302
    response = post(second, f"/lookups/{lookup.id}/take")
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "この依頼はすでに別の担当者が引き受けています。" in page
    assert 'href="/lookups/queue"' in page and lw.handler.name not in page  # back to the queue, nobody named
    assert _reload(lookup).handler_id == lw.handler.id
    assert second.get(f"/lookups/{lookup.id}").status_code == 404  # the request itself stays hidden


def test_two_handlers_taking_at_once_one_wins(app, lw, make_person):
    lookup = approved(lw)
    clients = [browser(app, person) for person in (lw.handler, lw.handler2)]
    tokens = [csrf_token_from(c, "/lookups/") for c in clients]
    barrier = threading.Barrier(len(clients))
    codes: list[int] = []
    locations: list[str] = []

    cookies = [c.get_cookie("portal_session").value for c in clients]
    url = f"/lookups/{lookup.id}/take"  # read here: the threads have no app context of their own

    def worker(cookie, token):
        client = https_client(app)
        client.set_cookie("portal_session", cookie, domain="localhost")
        barrier.wait()
        response = client.post(url, data={"csrf_token": token})
        codes.append(response.status_code)
        locations.append(response.headers.get("Location", ""))
        response.close()

    threads = [threading.Thread(target=worker, args=pair) for pair in zip(cookies, tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(codes) == [302, 409]  # the winner to the request, the other told why (and offered the queue)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(LookupEvent).where(
        LookupEvent.request_id == lookup.id, LookupEvent.kind == "taken")) == 1
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "lookup.taken")) == 1
    assert _reload(lookup).handler_id in (lw.handler.id, lw.handler2.id)


def test_lists_show_each_person_their_part(app, lw):
    mine = ask(lw)
    other = approved(lw, lw.colleague)
    refused = ask(lw, lw.colleague)
    decide_lookup_approval(lw.manager, refused, False, "照会は不要と判断")
    withdrawn = ask(lw, lw.colleague)
    withdraw_lookup(lw.colleague, withdrawn)
    db.session.commit()
    requester_list = browser(app, lw.requester).get("/lookups/").get_data(as_text=True)
    assert f"/lookups/{mine.id}\"" in requester_list and f"/lookups/{other.id}\"" not in requester_list
    inbox = browser(app, lw.manager).get("/lookups/inbox").get_data(as_text=True)
    assert f"/lookups/{mine.id}\"" in inbox and f"/lookups/{refused.id}\"" in inbox  # waiting; decided by them
    queue = browser(app, lw.handler).get("/lookups/queue").get_data(as_text=True)
    assert f"/lookups/{other.id}\"" in queue and f"/lookups/{mine.id}\"" not in queue
    bystander = browser(app, lw.bystander).get("/lookups/queue").get_data(as_text=True)
    assert "有効な閲覧権限がないため" in bystander and f"/lookups/{other.id}\"" not in bystander


def test_names_in_requests_are_escaped(app, lw):
    lookup = ask(lw, question="<img src=x onerror=alert(1)> の契約有無を確認してください")
    page = browser(app, lw.manager).get(f"/lookups/{lookup.id}").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_english_pages(app, lw):
    lookup = taken(lw)
    answer_lookup(lw.handler, lookup, "Contract list", "A contract exists")
    db.session.commit()
    client = browser(app, lw.requester)
    client.post("/language", data={"lang": "en", "next": "/", "csrf_token": csrf_token_from(client, "/")})
    page = client.get(f"/lookups/{lookup.id}").get_data(as_text=True)
    assert f"Look-up request No. {lookup.id}" in page and "Answered and closed" in page and "Taken by a handler" in page
    assert "回答して完了" not in page


def test_register_lists_what_each_overseer_may_see(app, lw, make_person):
    front = ask(lw)
    seller = make_person("SP1", department=lw.sales, name="佐藤 一郎")
    sales = ask(lw, seller)
    links = {name: browser(app, person).get("/lookups/register").get_data(as_text=True)
             for name, person in (("auditor", lw.auditor), ("admin", lw.admin), ("manager", lw.manager),
                                  ("outsider", lw.outsider))}
    for name in ("auditor", "admin"):
        assert f"/lookups/{front.id}\"" in links[name] and f"/lookups/{sales.id}\"" in links[name]
    assert f"/lookups/{front.id}\"" in links["manager"] and f"/lookups/{sales.id}\"" not in links["manager"]
    assert f"/lookups/{sales.id}\"" in links["outsider"] and f"/lookups/{front.id}\"" not in links["outsider"]
    filtered = browser(app, lw.auditor).get("/lookups/register?status=answered").get_data(as_text=True)
    assert f"/lookups/{front.id}\"" not in filtered
    # A manager cannot widen the filter to a department they do not manage.
    widened = browser(app, lw.manager).get(f"/lookups/register?department={lw.sales.id}").get_data(as_text=True)
    assert f"/lookups/{sales.id}\"" not in widened
    assert browser(app, lw.requester).get("/lookups/register").status_code == 403
