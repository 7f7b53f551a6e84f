"""Manual files: Markdown with YAML front matter, checked and normalised (pure: text in, source out).

Layout (see README, "Manuals and quizzes"): manuals/<name>.md holds one manual's current edition;
manuals/<name>/ is a folder per manual whose *.md files are its editions (history optional).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from portal.manuals.problems import Problem
from portal.manuals.rendering import RenderedMarkdown, render_markdown
from portal.manuals.yamltools import LocatedYaml, YamlSyntaxError, duplicate_keys, load_located

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
CHANGE_KINDS = ("material", "minor")
AUDIENCE_KEYS = ("everyone", "departments", "kinds", "roles")
REQUIRED = ("slug", "title", "edition", "effective_date", "change_kind", "audience", "days_allowed",
            "quiz", "statement")
OPTIONAL = ("change_summary", "validity_months")
QUIZ_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.ya?ml$")


@dataclass(frozen=True)
class ManualSource:
    """One manual edition file, checked: front matter fields, body and its rendering."""

    file: str
    text: str
    content_hash: str
    slug: str
    title_ja: str
    title_en: str
    number: int
    effective_date: date
    change_kind: str
    change_summary_ja: str
    change_summary_en: str
    #: {"everyone": bool, "departments": [...], "kinds": [...], "roles": [...]}
    audience: dict
    #: (list name, value) -> line, for problems found against the organisation later.
    audience_lines: dict
    days_allowed: int
    validity_months: int | None
    quiz_file: str
    statement_ja: str
    statement_en: str
    rendered: RenderedMarkdown
    lines: dict = field(default_factory=dict)


def normalise_text(raw: bytes) -> str:
    """UTF-8 (BOM dropped), LF line endings: what is stored and hashed. Raises UnicodeDecodeError."""
    return raw.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")


def text_hash(text: str) -> str:
    """sha256 of the normalised text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """(front matter, body, body's first line) or None when there is no opening ---."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1:]), index + 2
    return "", "", -1


class _Checker:
    """Collects problems while reading typed values out of the front matter."""

    def __init__(self, file: str, doc: LocatedYaml):
        self.file, self.doc, self.problems = file, doc, []

    def problem(self, code: str, *path, key_line: bool = False, **params) -> None:
        line = self.doc.key_line(*path) if key_line else self.doc.line(*path) if path else None
        self.problems.append(Problem(self.file, line, code, params))

    def bad(self, key: str, expected: str, *path) -> None:
        self.problem("bad_value", *(path or (key,)), key=key, expected=expected)

    def text(self, value, key: str, *path, required: bool = True) -> str:
        if value is None or value == "":
            if required:
                self.problem("missing_key", *path[:-1], key=key)
            return ""
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.bad(key, "text", *path)
            return ""
        return str(value).strip()

    def ja_en(self, data: dict, key: str, *, require_en: bool, required: bool = True) -> tuple[str, str]:
        value = data.get(key)
        if value is None:
            if required:
                self.problem("missing_key", key=f"{key}.ja")
            return "", ""
        if not isinstance(value, dict):
            self.bad(key, "ja_en")
            return "", ""
        for extra in value.keys() - {"ja", "en"}:
            self.problem("unknown_key", key, extra, key_line=True, key=f"{key}.{extra}")
        ja = self.text(value.get("ja"), f"{key}.ja", key, "ja", required=required)
        en = self.text(value.get("en"), f"{key}.en", key, "en", required=require_en)
        return ja, en

    def integer(self, value, key: str, minimum: int, expected: str, allow_none: bool = False) -> int | None:
        if value is None and allow_none:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.bad(key, expected)
            return None
        return value


def _audience(check: _Checker, value) -> tuple[dict, dict]:
    """Normalise `everyone` or {departments, kinds, roles} into one shape, remembering lines."""
    audience = {"everyone": False, "departments": [], "kinds": [], "roles": []}
    lines: dict = {}
    if value == "everyone":
        audience["everyone"] = True
        return audience, lines
    if not isinstance(value, dict):
        check.bad("audience", "audience")
        return audience, lines
    for extra in value.keys() - set(AUDIENCE_KEYS):
        check.problem("unknown_key", "audience", extra, key_line=True, key=f"audience.{extra}")
    if "everyone" in value:
        if not isinstance(value["everyone"], bool):
            check.bad("audience.everyone", "true_false", "audience", "everyone")
        audience["everyone"] = value["everyone"] is True
    for name in ("departments", "kinds", "roles"):
        items = value.get(name) or []
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, list):
            check.bad(f"audience.{name}", "list", "audience", name)
            continue
        for index, item in enumerate(items):
            if not isinstance(item, str) or not item.strip():
                check.bad(f"audience.{name}", "text", "audience", name, index)
                continue
            audience[name].append(item.strip())
            lines[(name, item.strip())] = check.doc.line("audience", name, index)
        audience[name] = sorted(set(audience[name]))
    if not audience["everyone"] and not any(audience[n] for n in ("departments", "kinds", "roles")):
        check.problem("empty_audience", "audience")
    return audience, lines


def parse_manual(file: str, text: str) -> tuple[ManualSource | None, list[Problem]]:
    """Check one manual file's text; the source is usable only when the problem list is empty."""
    parts = split_front_matter(text)
    if parts is None:
        return None, [Problem(file, 1, "no_front_matter")]
    front, body, body_line = parts
    if body_line < 0:
        return None, [Problem(file, 1, "front_matter_unclosed")]
    try:
        doc = load_located(front, offset=1)
    except YamlSyntaxError as error:
        return None, [Problem(file, error.line, "yaml_syntax", {"detail": error.detail})]
    if not isinstance(doc.data, dict):
        return None, [Problem(file, 2, "not_a_mapping")]
    check = _Checker(file, doc)
    check.problems.extend(Problem(file, line, "duplicate_key", {"key": key})
                          for key, line in duplicate_keys(doc.root, 1))
    data = doc.data
    for extra in sorted(set(map(str, data.keys())) - set(REQUIRED) - set(OPTIONAL)):
        check.problem("unknown_key", extra, key_line=True, key=extra)
    for key in REQUIRED:
        if key not in data:
            check.problems.append(Problem(file, None, "missing_key", {"key": key}))
    slug = check.text(data.get("slug"), "slug", "slug", required=False)
    if "slug" in data and slug and not SLUG.match(slug):
        check.problem("bad_slug", "slug", value=slug)
    title_ja, title_en = check.ja_en(data, "title", require_en=True, required="title" in data)
    number = check.integer(data.get("edition"), "edition", 1, "positive_number") if "edition" in data else None
    effective = data.get("effective_date")
    if "effective_date" in data and not isinstance(effective, date):
        try:
            effective = date.fromisoformat(str(effective))
        except ValueError:
            check.bad("effective_date", "date")
            effective = None
    change_kind = data.get("change_kind")
    if "change_kind" in data and change_kind not in CHANGE_KINDS:
        check.bad("change_kind", "change_kind")
    needs_summary = isinstance(number, int) and number > 1
    summary_ja, summary_en = check.ja_en(data, "change_summary", require_en=False, required=False)
    if needs_summary and not summary_ja:
        check.problems.append(Problem(file, doc.line("change_summary") if "change_summary" in data else None,
                                      "missing_summary", {"number": number}))
    audience, audience_lines = _audience(check, data.get("audience")) if "audience" in data else ({}, {})
    days = check.integer(data.get("days_allowed"), "days_allowed", 0,
                         "whole_number") if "days_allowed" in data else None
    validity = check.integer(data.get("validity_months"), "validity_months", 1, "number_or_empty", allow_none=True)
    quiz = check.text(data.get("quiz"), "quiz", "quiz", required=False)
    if quiz and not QUIZ_NAME.match(quiz):
        check.problem("bad_quiz_name", "quiz", quiz=quiz)
    statement_ja, statement_en = check.ja_en(data, "statement", require_en=False, required="statement" in data)
    rendered = render_markdown(body)
    if not body.strip():
        check.problems.append(Problem(file, body_line, "empty_body"))
    elif not any(s["level"] == 2 for s in rendered.sections):
        check.problems.append(Problem(file, body_line, "no_sections"))
    check.problems.extend(_duplicate_section_ids(file, body, body_line))
    if check.problems:
        return None, check.problems
    return ManualSource(
        file=file, text=text, content_hash=text_hash(text), slug=slug, title_ja=title_ja, title_en=title_en,
        number=number, effective_date=effective, change_kind=change_kind, change_summary_ja=summary_ja,
        change_summary_en=summary_en, audience=audience, audience_lines=audience_lines, days_allowed=days,
        validity_months=validity, quiz_file=quiz, statement_ja=statement_ja, statement_en=statement_en,
        rendered=rendered, lines={"edition": doc.line("edition"), "slug": doc.line("slug"),
                                  "quiz": doc.line("quiz"), "change_kind": doc.line("change_kind")},
    ), []


_EXPLICIT_ID_LINE = re.compile(r"^#{1,6}\s.*\{#([A-Za-z][A-Za-z0-9_-]{0,63})\}\s*$")


def _duplicate_section_ids(file: str, body: str, body_line: int) -> list[Problem]:
    """Explicit heading ids used twice (the renderer would quietly rename the second)."""
    seen: set[str] = set()
    problems = []
    for offset, line in enumerate(body.split("\n")):
        match = _EXPLICIT_ID_LINE.match(line)
        if match:
            if match.group(1) in seen:
                problems.append(Problem(file, body_line + offset, "duplicate_section_id", {"id": match.group(1)}))
            seen.add(match.group(1))
    return problems


@dataclass(frozen=True)
class ManualFile:
    """A file found in the manuals folder: its display name, folder group and text (or a problem)."""

    file: str
    group: str
    text: str | None
    problem: Problem | None = None


def discover_manual_files(manuals_dir: Path, display_root: Path | None = None) -> list[ManualFile]:
    """Every *.md in manuals/ (one manual each) and manuals/<folder>/ (editions of one manual)."""
    root = display_root or manuals_dir.parent
    found = []
    candidates = [(p, p.stem) for p in sorted(manuals_dir.glob("*.md")) if p.name.lower() != "readme.md"]
    for folder in sorted(p for p in manuals_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        candidates.extend((p, folder.name + "/") for p in sorted(folder.glob("*.md")) if p.name.lower() != "readme.md")
    for path, group in candidates:
        shown = _display(path, root)
        try:
            found.append(ManualFile(shown, group, normalise_text(path.read_bytes())))
        except UnicodeDecodeError:
            found.append(ManualFile(shown, group, None, Problem(shown, None, "not_utf8")))
    return found


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
