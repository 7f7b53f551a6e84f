"""Helpers for the manuals tests: a throw-away repository of manual and quiz files."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

BODY = """# テスト用の手引

## 目的 {#purpose}

この手引は、コラボ事業者の契約者情報を目的外に利用しないための規則を定める。

## 規則 {#rules}

- 業務に必要な範囲でのみ閲覧する。
- 画面を撮影しない。
"""


def manual_text(slug: str = "handbook", edition: int = 1, *, change_kind: str = "material",
                audience: str = "everyone", body: str = BODY, summary: str | None = None,
                days_allowed: int = 30, effective_date: str = "2026-04-01", extra: str = "",
                quiz: str | None = None) -> str:
    """A manual file with front matter; `audience` is YAML text after `audience:`."""
    summary_yaml = f"change_summary:\n  ja: {summary}\n  en: {summary}\n" if summary else ""
    return (
        "---\n"
        f"slug: {slug}\n"
        "title:\n  ja: テスト用の手引\n  en: Test handbook\n"
        f"edition: {edition}\n"
        f"effective_date: {effective_date}\n"
        f"change_kind: {change_kind}\n"
        f"{summary_yaml}"
        f"audience: {audience}\n"
        f"days_allowed: {days_allowed}\n"
        "validity_months: 12\n"
        f"quiz: {quiz or slug + '.yaml'}\n"
        "statement:\n  ja: 読んで理解しました。\n  en: I have read and understood it.\n"
        f"{extra}"
        "---\n"
        f"{body}"
    )


def quiz_text(slug: str = "handbook", *, extra_question: str = "", pass_mark: int = 2, draw: int = 2) -> str:
    """A valid quiz for BODY's sections (purpose, rules), optionally with one more question."""
    return f"""manual: {slug}
pass_mark: {pass_mark}
draw: {draw}
shuffle: true
attempts_allowed: 3
wait_minutes: 10
retrain: changed_sections
questions:
  - id: purpose-1
    section: purpose
    kind: true_false
    text: {{ja: 目的外に利用しない。, en: Do not use beyond purpose.}}
    correct: true
  - id: rules-1
    section: rules
    kind: single
    text: {{ja: 正しいものは？, en: "Which is right?"}}
    choices:
      - {{id: a, ja: 必要な範囲で閲覧する, en: View only what you need}}
      - {{id: b, ja: 画面を撮影する, en: Photograph the screen}}
    correct: [a]
    explanation: {{ja: 規則のとおり。, en: As the rules say.}}
{extra_question}"""


@dataclass
class Repo:
    """A manuals/ and quizzes/ pair in a temporary folder."""

    root: Path

    @property
    def manuals(self) -> Path:
        return self.root / "manuals"

    @property
    def quizzes(self) -> Path:
        return self.root / "quizzes"

    def write_manual(self, name: str, text: str) -> Path:
        """Write manuals/<name> (name may be "folder/edition-2.md")."""
        path = self.manuals / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def write_quiz(self, name: str, text: str) -> Path:
        """Write quizzes/<name>."""
        path = self.quizzes / name
        path.write_text(text, encoding="utf-8")
        return path

    def standard(self, slug: str = "handbook", **manual_options) -> None:
        """One valid manual with its quiz."""
        self.write_manual(f"{slug}.md", manual_text(slug, **manual_options))
        self.write_quiz(f"{slug}.yaml", quiz_text(slug))


@pytest.fixture
def repo(tmp_path) -> Repo:
    """An empty repository of manuals and quizzes."""
    root = tmp_path / "repo"
    (root / "manuals").mkdir(parents=True)
    (root / "quizzes").mkdir()
    return Repo(root)


def run_publish(app, repo: Repo, *extra: str):
    """`portal publish --manuals … --quizzes …` through the CLI runner."""
    return app.test_cli_runner().invoke(
        args=["publish", "--manuals", str(repo.manuals), "--quizzes", str(repo.quizzes), "--lang", "en", *extra])
