"""Markdown to safe HTML, with heading ids, a table of contents and sections.

Safe for untrusted Markdown: raw HTML is off (it shows as text), links and images
keep only http(s), mailto and same-site URLs, and table alignment becomes a class
(the CSP forbids inline styles). No linkify: in Japanese a bare URL would swallow
the sentence after it.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

#: `## 見出し {#purpose}` sets the heading id explicitly.
EXPLICIT_ID = re.compile(r"\s*\{#([A-Za-z][A-Za-z0-9_-]{0,63})\}\s*$")
SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
ALIGN_STYLE = re.compile(r"^text-align:(left|center|right)$")
# Browsers drop these anywhere in a URL, so "java\tscript:" is javascript:.
URL_IGNORED = re.compile(r"[\x00-\x20\x7f]+")


@dataclass(frozen=True)
class RenderedMarkdown:
    """Rendered HTML plus its table of contents and h2 sections."""

    html: str
    #: [{"id", "title", "level"}] for h2 and h3 headings, in order.
    toc: list[dict] = field(default_factory=list)
    #: [{"id", "title", "level", "text", "hash"}], split at h2 (h3 stay inside).
    sections: list[dict] = field(default_factory=list)


def is_safe_url(url: str) -> bool:
    """True for relative, same-site, http(s) and mailto URLs; False for anything else."""
    cleaned = URL_IGNORED.sub("", url)
    match = SCHEME.match(cleaned)
    if match:
        return match.group(1).lower() in ALLOWED_SCHEMES
    # No scheme: a colon before the first / ? # would make some parsers see one.
    head = re.split(r"[/?#]", cleaned, maxsplit=1)[0]
    return ":" not in head


def derive_heading_id(title: str) -> str:
    """A stable ASCII id for a heading: a slug when the title is ASCII, else a short hash."""
    normalised = unicodedata.normalize("NFKC", title).strip()
    if normalised.isascii():
        slug = re.sub(r"[^a-z0-9]+", "-", normalised.lower()).strip("-")
        if slug and slug[0].isalpha():
            return slug[:64]
    return "h-" + hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:8]


def _inline_text(inline: Token) -> str:
    """Plain text of an inline token (soft breaks join without a space, as in Japanese)."""
    parts = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "image":
            parts.append(child.content)
        elif child.type == "softbreak":
            previous = parts[-1][-1:] if parts and parts[-1] else ""
            parts.append(" " if previous.isascii() and previous.isalnum() else "")
    return "".join(parts)


def _heading_ids(state) -> None:
    """Core rule: set each heading's id (explicit or derived, unique) and strip `{#id}`."""
    tokens = state.tokens
    used: set[str] = set()
    for index, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        inline = tokens[index + 1]
        explicit = None
        last_text = next((c for c in reversed(inline.children or []) if c.type == "text"), None)
        if last_text is not None and inline.children and inline.children[-1] is last_text:
            match = EXPLICIT_ID.search(last_text.content)
            if match:
                explicit = match.group(1)
                last_text.content = last_text.content[: match.start()]
        title = _inline_text(inline).strip()
        base = explicit or derive_heading_id(title)
        candidate, counter = base, 2
        while candidate in used:
            candidate, counter = f"{base}-{counter}", counter + 1
        used.add(candidate)
        token.attrSet("id", candidate)
        token.meta = {"title": title, "id": candidate}


def _alignment_classes(state) -> None:
    """Core rule: table alignment as a class instead of an inline style."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open") and token.attrs.get("style"):
            match = ALIGN_STYLE.match(str(token.attrs.pop("style")))
            if match:
                token.attrSet("class", f"align-{match.group(1)}")


def _render_heading_open(renderer, tokens, index, options, env) -> str:
    token = tokens[index]
    return f"<{token.tag}{renderer.renderAttrs(token)}>"


def _render_heading_close(renderer, tokens, index, options, env) -> str:
    opening = tokens[index - 2]
    anchor = ""
    if opening.tag in ("h2", "h3") and opening.meta:
        anchor = f' <a class="heading-anchor" href="#{opening.meta["id"]}">#</a>'
    return f"{anchor}</{tokens[index].tag}>\n"


def _render_softbreak(renderer, tokens, index, options, env) -> str:
    """A line break inside a Japanese paragraph joins without a space (the browser would add one)."""
    before = tokens[index - 1].content[-1:] if index > 0 else ""
    after = tokens[index + 1].content[:1] if index + 1 < len(tokens) else ""
    if before and after and not before.isascii() and not after.isascii():
        return ""
    return "\n"


def _build_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = is_safe_url
    md.core.ruler.push("heading_ids", _heading_ids)
    md.core.ruler.push("alignment_classes", _alignment_classes)
    md.add_render_rule("heading_open", _render_heading_open)
    md.add_render_rule("heading_close", _render_heading_close)
    md.add_render_rule("softbreak", _render_softbreak)
    return md


_PARSER = _build_parser()


def _block_lines(tokens: list[Token]) -> list[str]:
    """Readable text of a run of block tokens, one line per paragraph, item, heading or table row."""
    lines: list[str] = []
    lists: list[list] = []  # [marker kind, counter] per open list
    row: list[str] | None = None
    prefix = ""
    for token in tokens:
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            start = int(token.attrs.get("start", 1) or 1) if kind == "ordered_list_open" else 1
            lists.append([kind, start - 1])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            lists[-1][1] += 1
            marker = f"{lists[-1][1]}. " if lists[-1][0] == "ordered_list_open" else "・"
            prefix = "\u3000" * (len(lists) - 1) + marker
        elif kind == "heading_open":
            prefix = "" if token.tag == "h1" else "■ "
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close":
            lines.append(" | ".join(row or []))
            row = None
        elif kind == "inline":
            text = _inline_text(token)
            if row is not None:
                row.append(text)
            else:
                lines.append(prefix + text)
                prefix = ""
        elif kind in ("fence", "code_block"):
            lines.extend(token.content.rstrip("\n").split("\n"))
        elif kind == "hr":
            lines.append("---")
    return lines


def _sections(tokens: list[Token]) -> list[dict]:
    """Split at h2: a preamble (anything before the first h2) and one section per h2."""
    groups: list[tuple[Token | None, list[Token]]] = [(None, [])]
    for token in tokens:
        if token.type == "heading_open" and token.tag == "h2":
            groups.append((token, []))
        else:
            groups[-1][1].append(token)
    sections = []
    for heading, body in groups:
        if heading is None:
            h1 = next((t for t in body if t.type == "heading_open" and t.tag == "h1"), None)
            if h1 is not None:
                start = body.index(h1)
                body = body[:start] + body[start + 3:]  # drop the title: it is the section's title
            title = h1.meta["title"] if h1 is not None else ""
            lines = _block_lines(body)
            if not lines and not title:
                continue
            section = {"id": "preamble", "title": title, "level": 1}
        else:
            lines = _block_lines(body[2:])  # skip the heading's inline and close tokens
            section = {"id": heading.meta["id"], "title": heading.meta["title"], "level": 2}
        section["text"] = "\n".join(lines)
        digest = hashlib.sha256(f"{section['title']}\n{section['text']}".encode("utf-8"))
        section["hash"] = digest.hexdigest()
        sections.append(section)
    return sections


def render_markdown(source: str) -> RenderedMarkdown:
    """Render Markdown safely; return HTML, table of contents and h2 sections."""
    tokens = _PARSER.parse(source)
    html = _PARSER.renderer.render(tokens, _PARSER.options, {})
    toc = [
        {"id": t.meta["id"], "title": t.meta["title"], "level": int(t.tag[1])}
        for t in tokens
        if t.type == "heading_open" and t.tag in ("h2", "h3")
    ]
    return RenderedMarkdown(html=html, toc=toc, sections=_sections(tokens))
