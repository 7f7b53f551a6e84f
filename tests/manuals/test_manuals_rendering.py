"""Markdown rendering: safe for untrusted text, headings with stable ids, a TOC and sections (no app needed)."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from portal.manuals.rendering import derive_heading_id, is_safe_url, render_markdown

PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    "<div onmouseover=alert(1)>hover</div>",
    '<a href="javascript:alert(1)">raw link</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](jav&#x61;script:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](javascript&colon;alert(1))",
    "[click](<java\tscript:alert(1)>)",
    "[click](vbscript:msgbox(1))",
    "[click](VBScript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](DATA:text/html,<script>alert(1)</script>)",
    "![img](javascript:alert(1))",
    "![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '![img](x "onerror=alert(1)")',
    "<javascript:alert(1)>",
    "<data:text/html,hi>",
    "<VBSCRIPT:msgbox(1)>",
    "[ref]\n\n[ref]: javascript:alert(1)",
    '<span style="color:red">styled</span>',
    "<style>body{display:none}</style>",
    "<iframe src=https://evil.example></iframe>",
    "<svg onload=alert(1)>",
    "<!-- comment --><b>bold</b>",
    "<details open ontoggle=alert(1)>x</details>",
    "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
    "## 見出し {onclick=alert(1)}",
    "## 見出し {#x onclick=alert(1)}",
    '## heading {#ok"><script>alert(1)</script>}',
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
]

ALLOWED_TAGS = {"p", "a", "img", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "strong", "em", "code",
                "pre", "blockquote", "hr", "br", "table", "thead", "tbody", "tr", "th", "td", "s"}
ALLOWED_ATTRS = {"href", "src", "alt", "id", "class", "title", "start"}


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def _live_elements(html: str):
    collector = _Collector()
    collector.feed(html)
    return collector.tags


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_payload_survives_as_live_html(payload):
    html = render_markdown(payload).html
    for tag, attrs in _live_elements(html):
        assert tag in ALLOWED_TAGS, (payload, html)
        for name, value in attrs:
            assert name in ALLOWED_ATTRS, (payload, html)
            assert not name.startswith("on")
            if name in ("href", "src"):
                assert is_safe_url(value or ""), (payload, html)
                assert not re.match(r"\s*(javascript|vbscript|data):", value or "", re.I), (payload, html)
    lowered = html.lower()
    assert "<script" not in lowered and "<style" not in lowered and "<iframe" not in lowered and "<svg" not in lowered


def test_script_text_is_shown_as_text_not_run():
    html = render_markdown("<script>alert(1)</script>").html
    assert "&lt;script&gt;" in html and "<script>" not in html


def test_javascript_link_stays_plain_text():
    html = render_markdown("[click](javascript:alert(1))").html
    assert "<a" not in html and "[click](javascript:alert(1))" in html


def test_ordinary_links_work():
    html = render_markdown("[規則](https://example.com/rules) [節](#purpose) [連絡](mailto:a@example.com) "
                           "[社内](/manuals/x)").html
    for href in ("https://example.com/rules", "#purpose", "mailto:a@example.com", "/manuals/x"):
        assert f'href="{href}"' in html


def test_no_linkify_a_bare_url_does_not_swallow_japanese():
    html = render_markdown("詳細はhttps://example.com/rulesを参照してください。").html
    assert "<a" not in html
    assert "詳細はhttps://example.com/rulesを参照してください。" in html


def test_table_alignment_is_a_class_not_a_style():
    html = render_markdown("| 部門 | 割合 | 備考 |\n|:--|--:|:-:|\n| 営業企画 | 13% | 済 |").html
    assert "style" not in html
    assert '<th class="align-left">部門</th>' in html
    assert '<td class="align-right">13%</td>' in html
    assert '<td class="align-center">済</td>' in html


def test_explicit_and_derived_heading_ids_and_toc():
    rendered = render_markdown("# 題\n\n## 目的 {#purpose}\n\n本文\n\n### 対象\n\n## Scope of Use\n\n## 目的\n")
    ids = [entry["id"] for entry in rendered.toc]
    assert ids[0] == "purpose"
    assert ids[1] == derive_heading_id("対象") and ids[1].startswith("h-")
    assert ids[2] == "scope-of-use"
    assert all(re.fullmatch(r"[a-z0-9-]+", i) for i in ids)
    assert [e["level"] for e in rendered.toc] == [2, 3, 2, 2]
    assert rendered.toc[0]["title"] == "目的"  # the {#id} is not part of the title
    assert '<h2 id="purpose">目的 <a class="heading-anchor" href="#purpose">#</a></h2>' in rendered.html
    assert "{#purpose}" not in rendered.html


def test_derived_ids_are_stable_and_unique():
    assert derive_heading_id("閲覧できる者") == derive_heading_id("閲覧できる者")
    rendered = render_markdown("## 同じ\n\n## 同じ\n")
    first, second = (e["id"] for e in rendered.toc)
    assert first != second and second == f"{first}-2"


def test_sections_split_at_h2_with_h3_inside_and_hashes():
    rendered = render_markdown("# 題\n\n前文。\n\n## 目的 {#purpose}\n\nこの手引は\n目的を定める。\n\n"
                               "### 対象\n\n- 社員\n- 販売委託会社\n\n## 規則 {#rules}\n\n1. 一\n2. 二\n")
    sections = {s["id"]: s for s in rendered.sections}
    assert list(sections) == ["preamble", "purpose", "rules"]
    assert sections["preamble"]["title"] == "題" and sections["preamble"]["text"] == "前文。"
    assert sections["purpose"]["text"] == "この手引は目的を定める。\n■ 対象\n・社員\n・販売委託会社"
    assert sections["rules"]["text"] == "1. 一\n2. 二"
    assert all(len(s["hash"]) == 64 for s in rendered.sections)
    again = render_markdown("## 目的 {#purpose}\n\nこの手引は目的を定める。\n\n### 対象\n\n- 社員\n- 販売委託会社\n")
    assert again.sections[0]["hash"] == sections["purpose"]["hash"]


def test_japanese_line_breaks_join_without_a_space():
    html = render_markdown("この手引は\n目的を定める。\nThe end\nof it.").html
    assert "この手引は目的を定める。" in html
    assert "The end\nof it." in html


@pytest.mark.parametrize("url, safe", [
    ("https://example.com", True), ("http://example.com", True), ("mailto:x@example.com", True),
    ("/manuals/a", True), ("#purpose", True), ("relative/path", True), ("?q=1", True),
    ("javascript:alert(1)", False), (" javascript:alert(1)", False), ("java\tscript:alert(1)", False),
    ("java\nscript:x", False), ("JAVASCRIPT:x", False), ("vbscript:x", False), ("data:text/html,x", False),
    ("data:image/png;base64,AAAA", False), ("file:///etc/passwd", False), ("ftp://example.com", False),
])
def test_url_allow_list(url, safe):
    assert is_safe_url(url) is safe
