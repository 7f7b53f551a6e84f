"""The publish plan: read the repository's manuals and quizzes, check everything, say what would change."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from portal.extensions import db
from portal.manuals.assignments import audience_counts
from portal.manuals.audience import audience_problems
from portal.manuals.models import Manual, ManualEdition, QuizVersion
from portal.manuals.problems import Problem
from portal.manuals.quizzes import QuizSource, parse_quiz
from portal.manuals.sources import ManualSource, discover_manual_files, normalise_text, parse_manual

REPOSITORY = Path(__file__).resolve().parent.parent.parent


def decide_edition(number: int, content_hash: str, published: dict[int, str]) -> str:
    """For one file: "published" (identical, nothing to do), "new", "edited" or "lower" (both refused)."""
    if published.get(number) == content_hash:
        return "published"  # identical to a stored edition: an unchanged file, or a folder's history
    latest = max(published, default=0)
    if number > latest:
        return "new"
    return "edited" if number == latest else "lower"


@dataclass
class ManualPlan:
    """What publishing would do to one manual."""

    slug: str
    title_ja: str
    title_en: str
    current: ManualSource
    quiz: QuizSource | None
    is_new_manual: bool = False
    new_editions: list[ManualSource] = field(default_factory=list)
    quiz_is_new: bool = False
    counts: dict = field(default_factory=dict)

    @property
    def material(self) -> bool:
        """True when a new edition sends people back to training."""
        return any(e.change_kind == "material" for e in self.new_editions)

    @property
    def retrain_count(self) -> int:
        """People put back to "due" with a new due date."""
        return self.counts.get("audience", 0) if self.material else 0

    def summary(self) -> dict:
        """The plan of this manual as plain data (audit details, CLI, fingerprint)."""
        return {"slug": self.slug, "new_manual": self.is_new_manual,
                "editions": [{"number": e.number, "change_kind": e.change_kind, "file": e.file,
                              "content_hash": e.content_hash} for e in self.new_editions],
                "quiz_hash": self.quiz.content_hash if self.quiz else "", "quiz_is_new": self.quiz_is_new,
                "audience": self.counts.get("audience", 0), "retrain": self.retrain_count,
                "added": self.counts.get("added", 0), "removed": self.counts.get("removed", 0)}


@dataclass
class PublishPlan:
    """Every manual with a new edition, the unchanged ones, and every problem found."""

    changes: list[ManualPlan] = field(default_factory=list)
    unchanged: list[ManualPlan] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """True when publishing would change nothing."""
        return not self.changes

    @property
    def fingerprint(self) -> str:
        """Identifies this exact plan, so a publish button publishes what its preview showed."""
        data = [m.summary() for m in self.changes]
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def repository_dirs() -> tuple[Path, Path]:
    """The manuals and quizzes folders: configured, else the repository's own."""
    manuals = current_app.config.get("PORTAL_MANUALS_DIR") or REPOSITORY / "manuals"
    quizzes = current_app.config.get("PORTAL_QUIZZES_DIR") or REPOSITORY / "quizzes"
    return Path(manuals), Path(quizzes)


def _read_sources(manuals_dir: Path, problems: list[Problem]) -> dict[str, list[ManualSource]]:
    """Parse every manual file and group the sources by slug, checking folders and duplicates."""
    by_slug: dict[str, list[ManualSource]] = {}
    group_of: dict[str, str] = {}
    folder_slug: dict[str, ManualSource] = {}
    files = discover_manual_files(manuals_dir)
    if not files:
        problems.append(Problem(str(manuals_dir), None, "no_manuals"))
    for found in files:
        if found.problem:
            problems.append(found.problem)
            continue
        source, found_problems = parse_manual(found.file, found.text)
        problems.extend(found_problems)
        if source is None:
            continue
        first = folder_slug.setdefault(found.group, source)
        if found.group.endswith("/") and first.slug != source.slug:
            problems.append(Problem(source.file, source.lines.get("slug"), "folder_mixed_slugs",
                                    {"slug": source.slug, "other": first.slug, "other_file": first.file}))
            continue
        owner = group_of.setdefault(source.slug, found.group)
        if owner != found.group:
            other = by_slug[source.slug][0].file
            problems.append(Problem(source.file, source.lines.get("slug"), "duplicate_slug",
                                    {"slug": source.slug, "other": other}))
            continue
        twin = next((s for s in by_slug.get(source.slug, []) if s.number == source.number), None)
        if twin is not None:
            problems.append(Problem(source.file, source.lines.get("edition"), "duplicate_edition",
                                    {"number": source.number, "other": twin.file}))
            continue
        by_slug.setdefault(source.slug, []).append(source)
    return {slug: sorted(items, key=lambda s: s.number) for slug, items in by_slug.items()}


def _read_quiz(current: ManualSource, quizzes_dir: Path, problems: list[Problem]) -> QuizSource | None:
    path = quizzes_dir / current.quiz_file
    shown = f"{quizzes_dir.name}/{current.quiz_file}"
    if not path.is_file():
        problems.append(Problem(current.file, current.lines.get("quiz"), "missing_quiz", {"quiz": shown}))
        return None
    try:
        text = normalise_text(path.read_bytes())
    except UnicodeDecodeError:
        problems.append(Problem(shown, None, "not_utf8"))
        return None
    sections = {s["id"] for s in current.rendered.sections if s["level"] == 2}
    quiz, quiz_problems = parse_quiz(shown, text, current.slug, sections)
    problems.extend(quiz_problems)
    return quiz


def _published_state(slugs: list[str]) -> tuple[dict, dict, dict]:
    """Stored manuals by slug, {slug: {number: hash}}, {slug: (latest kind list, latest quiz hash)}."""
    manuals = {m.slug: m for m in db.session.scalars(select(Manual).where(Manual.slug.in_(slugs)))}
    published: dict[str, dict[int, str]] = {slug: {} for slug in manuals}
    quiz_hash: dict[str, str] = {}
    kinds: dict[str, set[str]] = {slug: set() for slug in manuals}
    rows = db.session.execute(
        select(Manual.slug, ManualEdition.number, ManualEdition.content_hash, ManualEdition.change_kind,
               QuizVersion.content_hash)
        .join(ManualEdition, ManualEdition.manual_id == Manual.id)
        .outerjoin(QuizVersion, QuizVersion.id == ManualEdition.quiz_version_id)
        .where(Manual.slug.in_(slugs)).order_by(ManualEdition.number))
    for slug, number, content_hash, kind, quiz in rows:
        published[slug][number] = content_hash
        kinds[slug].add(kind)
        quiz_hash[slug] = quiz or ""
    return manuals, published, {"quiz": quiz_hash, "kinds": kinds}


def build_publish_plan(manuals_dir: Path, quizzes_dir: Path) -> PublishPlan:
    """Check every file against the rules and the portal; writes nothing."""
    plan = PublishPlan()
    if not manuals_dir.is_dir():
        plan.problems.append(Problem(str(manuals_dir), None, "folder_missing"))
        return plan
    by_slug = _read_sources(manuals_dir, plan.problems)
    manuals, published, state = _published_state(sorted(by_slug))
    for slug, sources in sorted(by_slug.items()):
        current = sources[-1]
        quiz = _read_quiz(current, quizzes_dir, plan.problems)
        stored = published.get(slug, {})
        entry = ManualPlan(slug=slug, title_ja=current.title_ja, title_en=current.title_en, current=current,
                           quiz=quiz, is_new_manual=slug not in manuals)
        for source in sources:
            verdict = decide_edition(source.number, source.content_hash, stored)
            if verdict == "new":
                entry.new_editions.append(source)
            elif verdict in ("edited", "lower"):
                plan.problems.append(Problem(source.file, source.lines.get("edition"), f"{verdict}_edition",
                                             {"number": source.number, "slug": slug,
                                              "latest": max(stored, default=0)}))
        if entry.new_editions and "material" not in state["kinds"].get(slug, set()) \
                and entry.new_editions[0].change_kind != "material":
            first = entry.new_editions[0]
            plan.problems.append(Problem(first.file, first.lines.get("change_kind"), "first_edition_minor",
                                         {"number": first.number, "slug": slug}))
        latest_quiz = state["quiz"].get(slug)
        if quiz is not None and stored and not entry.new_editions and latest_quiz != quiz.content_hash:
            plan.problems.append(Problem(quiz.file, None, "quiz_changed_without_edition", {"slug": slug}))
        entry.quiz_is_new = quiz is not None and latest_quiz != quiz.content_hash
        (plan.changes if entry.new_editions else plan.unchanged).append(entry)
    plan.problems.extend(audience_problems([e for m in plan.changes for e in m.new_editions]))
    if not plan.problems:
        for entry in plan.changes:
            manual = manuals.get(entry.slug)
            entry.counts = audience_counts(manual.id if manual else None, entry.new_editions[-1].audience)
    return plan
