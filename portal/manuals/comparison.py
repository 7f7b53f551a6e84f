"""What changed between two editions: section by section, with character-level marks (pure functions).

Japanese has no spaces between words, so word diffs are useless; characters are compared inside
changed lines, and tiny equal fragments between two changes are folded into the change so the
result reads as phrases rather than confetti.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher

#: Two lines whose lengths multiply above this are not compared character by character (speed).
CHAR_DIFF_BUDGET = 2_000_000
#: Lines at least this similar (Dice coefficient of character pairs) are candidates for one edited line.
PAIR_CUTOFF = 0.5
#: Replaced blocks with up to this many line pairs compare every pair; bigger ones only near the diagonal.
MAX_LINE_PAIRS = 400
BAND = 3
#: An edited line is marked inside only when at least this share of it is unchanged.
KEPT_AT_LEAST = 0.4
#: Equal runs this short between two changes are folded into the change.
FOLD_EQUAL_BELOW = 3
#: Unchanged lines kept around a change inside a changed section.
CONTEXT_LINES = 2


@dataclass(frozen=True)
class Line:
    """One displayed line: "equal", "insert", "delete" or "change"; segments are (op, text)."""

    kind: str
    segments: tuple[tuple[str, str], ...]


@dataclass
class SectionChange:
    """One section in the comparison."""

    status: str  # added | removed | changed | unchanged
    id: str
    title: str
    old_title: str = ""
    lines: list = field(default_factory=list)
    inserted_chars: int = 0
    deleted_chars: int = 0


@dataclass
class Comparison:
    """Every section of both editions, in reading order, with counts for the summary."""

    sections: list[SectionChange]

    def count(self, status: str) -> int:
        """How many sections have this status."""
        return sum(1 for s in self.sections if s.status == status)

    @property
    def identical(self) -> bool:
        """True when no section changed."""
        return all(s.status == "unchanged" for s in self.sections)


def _fold(ops: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Merge short equal runs between changes into them: (equal, del, ins) triples become readable."""
    result: list[tuple[str, str, str]] = []
    for index, (op, old, new) in enumerate(ops):
        between_changes = 0 < index < len(ops) - 1 and result and result[-1][0] == "change"
        short = len(old) < FOLD_EQUAL_BELOW and "\n" not in old
        if op == "equal" and between_changes and short and ops[index + 1][0] == "change":
            prev = result.pop()
            result.append(("change", prev[1] + old, prev[2] + new))
            continue
        if op == "change" and result and result[-1][0] == "change":
            prev = result.pop()
            result.append(("change", prev[1] + old, prev[2] + new))
            continue
        result.append((op, old, new))
    return result


def char_diff(old: str, new: str) -> list[tuple[str, str, str]]:
    """[(equal|change, old text, new text)] at character level, folded for reading."""
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    ops = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        ops.append(("equal" if tag == "equal" else "change", old[i1:i2], new[j1:j2]))
    return _fold(ops)


def _segments_to_lines(ops: list[tuple[str, str, str]]) -> list[Line]:
    """Lay a character diff of a block (lines joined with \\n) out as display lines."""
    lines: list[list[tuple[str, str]]] = [[]]

    def emit(op: str, text: str) -> None:
        for position, part in enumerate(text.split("\n")):
            if position:
                lines.append([])
            if part:
                lines[-1].append((op, part))

    for op, old, new in ops:
        if op == "equal":
            emit("equal", old)
        else:
            emit("delete", old)
            emit("insert", new)
    result = []
    for segments in lines:
        kinds = {op for op, _text in segments}
        kind = "equal" if kinds <= {"equal"} else "insert" if kinds == {"insert"} else \
            "delete" if kinds == {"delete"} else "change"
        result.append(Line(kind, tuple(segments)))
    return result


def _bigrams(text: str) -> Counter:
    """Character pairs of a line: a cheap, order-tolerant fingerprint for pairing similar lines."""
    return Counter(text[k:k + 2] for k in range(len(text) - 1)) if len(text) > 1 else Counter(text)


def _similar_pairs(old_lines: list[str], new_lines: list[str]) -> dict[tuple[int, int], float]:
    """Dice similarity of character pairs for (old, new) lines above PAIR_CUTOFF; big blocks only near the diagonal."""
    old_grams = [_bigrams(t) for t in old_lines]
    new_grams = [_bigrams(t) for t in new_lines]
    old_sizes = [max(1, sum(g.values())) for g in old_grams]
    everything = len(old_lines) * len(new_lines) <= MAX_LINE_PAIRS
    scale = len(old_lines) / len(new_lines)
    scores: dict[tuple[int, int], float] = {}
    for j, grams in enumerate(new_grams):
        size = max(1, sum(grams.values()))
        centre = int(j * scale)
        candidates = range(len(old_lines)) if everything else \
            range(max(0, centre - BAND), min(len(old_lines), centre + BAND + 1))
        for i in candidates:
            if min(size, old_sizes[i]) < PAIR_CUTOFF * max(size, old_sizes[i]):
                continue  # too different in length to be one edited line
            score = 2 * sum((grams & old_grams[i]).values()) / (size + old_sizes[i])
            if score > PAIR_CUTOFF:
                scores[(i, j)] = score
    return scores


def _changed_lines(old: str, new: str) -> list[Line]:
    """One line edited in place, marked by character; shown removed + added when little of it survived."""
    if len(old) * len(new) > CHAR_DIFF_BUDGET:
        return [Line("delete", (("delete", old),)), Line("insert", (("insert", new),))]
    ops = char_diff(old, new)
    kept = sum(len(o) for op, o, _n in ops if op == "equal")
    if kept < KEPT_AT_LEAST * max(len(old), len(new)):
        return [Line("delete", (("delete", old),)), Line("insert", (("insert", new),))]
    return _segments_to_lines(ops)


def _paired(old_lines: list[str], new_lines: list[str], scores: dict, i0: int, i1: int, j0: int, j1: int) -> list[Line]:
    """Lay out old[i0:i1] against new[j0:j1]: the most similar pair first, then both sides of it."""
    inside = [(score, i, j) for (i, j), score in scores.items() if i0 <= i < i1 and j0 <= j < j1]
    if not inside:
        return ([Line("delete", (("delete", t),)) for t in old_lines[i0:i1]]
                + [Line("insert", (("insert", t),)) for t in new_lines[j0:j1]])
    _score, i, j = max(inside)
    return (_paired(old_lines, new_lines, scores, i0, i, j0, j) + _changed_lines(old_lines[i], new_lines[j])
            + _paired(old_lines, new_lines, scores, i + 1, i1, j + 1, j1))


def _replace_block(old_lines: list[str], new_lines: list[str]) -> list[Line]:
    """Pair the most similar lines and mark characters inside them; the rest is removed or added whole."""
    scores = _similar_pairs(old_lines, new_lines) if old_lines and new_lines else {}
    return _paired(old_lines, new_lines, scores, 0, len(old_lines), 0, len(new_lines))


def diff_lines(old_text: str, new_text: str) -> list[Line]:
    """Line-level alignment first, then character-level marks inside replaced lines."""
    old_lines, new_lines = old_text.split("\n"), new_text.split("\n")
    matcher = SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    result: list[Line] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            result.extend(Line("equal", (("equal", t),)) for t in old_lines[i1:i2])
        elif tag == "delete":
            result.extend(Line("delete", (("delete", t),)) for t in old_lines[i1:i2])
        elif tag == "insert":
            result.extend(Line("insert", (("insert", t),)) for t in new_lines[j1:j2])
        else:
            result.extend(_replace_block(old_lines[i1:i2], new_lines[j1:j2]))
    return [line for line in result if line.segments or line.kind != "equal"]


def _with_context(lines: list[Line]) -> list[Line]:
    """Keep a few unchanged lines around each change; fold the rest into a "gap" line (its text: the count)."""
    keep = [False] * len(lines)
    for index, line in enumerate(lines):
        if line.kind != "equal":
            for near in range(max(0, index - CONTEXT_LINES), min(len(lines), index + CONTEXT_LINES + 1)):
                keep[near] = True
    result: list[Line] = []
    skipped = 0
    for line, kept in zip(lines, keep):
        if kept:
            if skipped:
                result.append(Line("gap", (("gap", str(skipped)),)))
                skipped = 0
            result.append(line)
        else:
            skipped += 1
    if skipped:
        result.append(Line("gap", (("gap", str(skipped)),)))
    return result


def _match(old: list[dict], new: list[dict]) -> dict[int, int]:
    """new index -> old index: same id first, then same title for sections whose id changed."""
    old_by_id = {s["id"]: i for i, s in enumerate(old)}
    pairs = {j: old_by_id[s["id"]] for j, s in enumerate(new) if s["id"] in old_by_id}
    used = set(pairs.values())
    old_by_title = {s["title"]: i for i, s in enumerate(old) if i not in used and s["title"]}
    for j, section in enumerate(new):
        if j not in pairs and section["title"] in old_by_title and old_by_title[section["title"]] not in used:
            pairs[j] = old_by_title[section["title"]]
            used.add(pairs[j])
    return pairs


def _section_change(old: dict, new: dict) -> SectionChange:
    if old["hash"] == new["hash"] and old["title"] == new["title"]:
        return SectionChange("unchanged", new["id"], new["title"])
    lines = diff_lines(old["text"], new["text"])
    change = SectionChange("changed", new["id"], new["title"],
                           old_title=old["title"] if old["title"] != new["title"] else "",
                           lines=_with_context(lines))
    for line in lines:
        for op, text in line.segments:
            if op == "insert":
                change.inserted_chars += len(text)
            elif op == "delete":
                change.deleted_chars += len(text)
    return change


def compare_sections(old: list[dict], new: list[dict]) -> Comparison:
    """Compare two editions' sections; removed sections appear where they used to be."""
    pairs = _match(old, new)
    matched_old = set(pairs.values())
    old_to_new = {i: j for j, i in pairs.items()}
    removed_after: dict[int | None, list[int]] = {}
    anchor: int | None = None
    for i in range(len(old)):
        if i in matched_old:
            anchor = old_to_new[i]
        else:
            removed_after.setdefault(anchor, []).append(i)

    def removed(key: int | None) -> list[SectionChange]:
        return [SectionChange("removed", old[i]["id"], old[i]["title"],
                              lines=[Line("delete", (("delete", t),)) for t in old[i]["text"].split("\n") if t])
                for i in removed_after.get(key, [])]

    sections = removed(None)
    for j, section in enumerate(new):
        if j in pairs:
            sections.append(_section_change(old[pairs[j]], section))
        else:
            sections.append(SectionChange("added", section["id"], section["title"],
                                          lines=[Line("insert", (("insert", t),))
                                                 for t in section["text"].split("\n") if t]))
        sections.extend(removed(j))
    return Comparison(sections)


def summarise_changes(old: list[dict], new: list[dict]) -> list[dict]:
    """Sections added, removed or changed (by hash only: cheap enough for every page view)."""
    pairs = _match(old, new)
    matched = set(pairs.values())
    result = []
    for j, section in enumerate(new):
        if j not in pairs:
            result.append({"status": "added", "id": section["id"], "title": section["title"]})
        elif old[pairs[j]]["hash"] != section["hash"] or old[pairs[j]]["title"] != section["title"]:
            result.append({"status": "changed", "id": section["id"], "title": section["title"]})
    result.extend({"status": "removed", "id": s["id"], "title": s["title"]}
                  for i, s in enumerate(old) if i not in matched)
    return result
