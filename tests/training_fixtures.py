"""Helpers for the training tests: manuals, editions and quizzes made directly in the database
(in the agreed spec_json format), assignments, and answering an attempt right or wrong."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from portal.extensions import db
from portal.manuals.models import Manual, ManualEdition, QuizVersion, TrainingAssignment
from portal.training.quiz import questions_by_id
from portal.training.status import jst_today
from tests.conftest import csrf_token_from

#: Text that must never reach a browser before submission (explanations are only in the key).
SECRET_MARK = "KEYONLY"


def section(section_id: str, title: str, version: int = 1) -> dict:
    """A manual section as ManualEdition.sections_json holds it; the hash changes with `version`."""
    text = f"{title} の本文（第{version}稿）"
    return {"id": section_id, "title": title, "level": 2, "text": text,
            "hash": hashlib.sha256(text.encode()).hexdigest()}


SECTIONS_V1 = [section("purpose", "目的"), section("rules", "遵守事項"), section("audit", "点検と監査")]


def _choices(*pairs) -> list[dict]:
    return [{"id": cid, "ja": ja, "en": en} for cid, ja, en in pairs]


def question(qid: str, section_id: str, kind: str, correct: list[str], choices=None) -> dict:
    """One question; its explanation carries SECRET_MARK so leaks are easy to find."""
    if kind == "true_false":
        choices = _choices(("true", "正しい", "True"), ("false", "誤り", "False"))
    return {"id": qid, "section": section_id, "kind": kind,
            "text": {"ja": f"{qid} についての設問", "en": f"A question on {qid}"},
            "choices": choices or _choices(("a", "選択肢A", "Choice A"), ("b", "選択肢B", "Choice B"),
                                           ("c", "選択肢C", "Choice C"), ("d", "選択肢D", "Choice D")),
            "correct": correct,
            "explanation": {"ja": f"{SECRET_MARK}-{qid}-解説", "en": f"{SECRET_MARK}-{qid}-why"}}


def quiz_spec(**overrides) -> dict:
    """A four-question bank over three sections; pass with 3 of 4."""
    spec = {
        "pass_mark": 3, "draw": 4, "shuffle": True, "attempts_allowed": 0, "wait_minutes": 0,
        "time_limit_minutes": None, "retrain": "changed_sections",
        "questions": [
            question("q-purpose", "purpose", "single", ["b"]),
            question("q-rules-many", "rules", "multiple", ["a", "c"]),
            question("q-rules-tf", "rules", "true_false", ["false"]),
            question("q-audit", "audit", "single", ["d"]),
        ],
    }
    spec.update(overrides)
    return spec


def add_edition(manual: Manual, number: int, *, change_kind: str = "material", sections=None, spec: dict | None = None,
                validity_months: int | None = None, effective: date | None = None, statement_ja: str = "",
                statement_en: str = "") -> ManualEdition:
    """Publish an edition directly (what the manuals feature's publishing stores)."""
    sections = SECTIONS_V1 if sections is None else sections
    quiz = None
    if spec is not None:
        spec_json = json.dumps(spec, ensure_ascii=False, sort_keys=True)
        quiz = QuizVersion(manual_id=manual.id,
                           content_hash=hashlib.sha256(f"{number}{spec_json}".encode()).hexdigest(),
                           source_yaml="# test", spec_json=spec_json)
        db.session.add(quiz)
        db.session.flush()
    text = f"# {manual.title_ja}\n" + "\n".join(s["text"] for s in sections)
    edition = ManualEdition(
        manual_id=manual.id, number=number, change_kind=change_kind, effective_date=effective or jst_today(),
        source_text=text, content_hash=hashlib.sha256(text.encode()).hexdigest(), html="<p>本文</p>",
        toc_json=json.dumps([{k: s[k] for k in ("id", "title", "level")} for s in sections], ensure_ascii=False),
        sections_json=json.dumps(sections, ensure_ascii=False), audience_json='{"everyone": true}',
        validity_months=validity_months, statement_ja=statement_ja, statement_en=statement_en,
        quiz_version_id=quiz.id if quiz else None)
    db.session.add(edition)
    db.session.commit()
    return edition


def make_manual(slug: str = "partner-data", title_ja: str = "パートナー情報の取扱い", **edition_options) -> Manual:
    """A manual with its first (material) edition and the standard quiz."""
    manual = Manual(slug=slug, title_ja=title_ja, title_en="Handling partner data")
    db.session.add(manual)
    db.session.flush()
    edition_options.setdefault("spec", quiz_spec())
    add_edition(manual, 1, **edition_options)
    return manual


def assign(person, manual: Manual, due: date | None = None, edition: ManualEdition | None = None) -> TrainingAssignment:
    """Require the person to train on the manual by `due` (default: in 30 days)."""
    edition = edition or manual.editions[-1]
    row = db.session.get(TrainingAssignment, (person.id, manual.id))
    if row is None:
        row = TrainingAssignment(person_id=person.id, manual_id=manual.id, since_edition_id=edition.id,
                                 due_date=due or jst_today() + timedelta(days=30))
        db.session.add(row)
    else:
        row.since_edition_id, row.due_date = edition.id, due or jst_today() + timedelta(days=30)
    db.session.commit()
    return row


def answers_for(attempt, right: bool = True, wrong_ids: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Posted answers for an attempt: the key's (right) or a wrong choice, per question."""
    bank = questions_by_id(attempt.quiz_version.spec)
    posted = {}
    for drawn in attempt.drawn:
        correct = bank[drawn["id"]]["correct"]
        if right and drawn["id"] not in wrong_ids:
            posted[drawn["id"]] = list(correct)
        else:
            posted[drawn["id"]] = [next(c for c in drawn["choices"] if c not in correct)]
    return posted


def form_data(attempt, posted: dict[str, list[str]], token: str) -> dict:
    """The form fields a browser would post for these answers."""
    return {"csrf_token": token, **{f"answer-{qid}": choices for qid, choices in posted.items()}}


@dataclass
class Flow:
    """A signed-in learner driving the pages with a test client."""

    client: object

    def start(self, slug: str):
        """Press 'start the quiz'; returns the attempt id from the redirect."""
        token = csrf_token_from(self.client, f"/training/manuals/{slug}")
        response = self.client.post(f"/training/manuals/{slug}/attempts", data={"csrf_token": token})
        match = re.search(r"/training/attempts/(\d+)$", response.headers.get("Location", ""))
        assert match, (response.status_code, response.get_data(as_text=True)[:300])
        return int(match.group(1))

    def submit(self, attempt, posted: dict[str, list[str]], **extra):
        """Post answers to an attempt (extra fields are sent too, as an attacker might)."""
        token = csrf_token_from(self.client, f"/training/manuals/{attempt.manual.slug}")
        return self.client.post(f"/training/attempts/{attempt.id}", data={**form_data(attempt, posted, token), **extra})

    def attest(self, slug: str, password: str):
        """Sign the attestation form."""
        token = csrf_token_from(self.client, f"/training/manuals/{slug}")
        return self.client.post(f"/training/manuals/{slug}/attest", data={"csrf_token": token, "password": password})


@pytest.fixture
def flow(client):
    """Drive the learner's pages: flow.start(slug), flow.submit(attempt, answers), flow.attest(slug, pw)."""
    return Flow(client)
