"""Reading YAML with line numbers, so every problem can name its line."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode


class YamlSyntaxError(ValueError):
    """The YAML cannot be read; line is 1-based in the file."""

    def __init__(self, line: int | None, detail: str):
        super().__init__(detail)
        self.line = line
        self.detail = detail


@dataclass(frozen=True)
class LocatedYaml:
    """Parsed YAML plus its node tree; `offset` is added to every line (front matter starts at line 2)."""

    data: Any
    root: Node | None
    offset: int = 0

    def line(self, *path: str | int) -> int | None:
        """The 1-based file line of the value at path (or of the deepest part of it that exists)."""
        node = self.root
        found = node
        for part in path:
            node = _child(node, part)
            if node is None:
                break
            found = node
        if found is None:
            return None
        return found.start_mark.line + 1 + self.offset

    def key_line(self, *path: str | int) -> int | None:
        """The line of the key itself (for "unknown key")."""
        parent = self.root
        for part in path[:-1]:
            parent = _child(parent, part)
        if isinstance(parent, MappingNode):
            for key, _value in parent.value:
                if isinstance(key, ScalarNode) and key.value == path[-1]:
                    return key.start_mark.line + 1 + self.offset
        return self.line(*path)


def _child(node: Node | None, part: str | int) -> Node | None:
    if isinstance(node, MappingNode) and isinstance(part, str):
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value == part:
                return value
    if isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part]
    return None


def duplicate_keys(node: Node | None, offset: int = 0) -> list[tuple[str, int]]:
    """Keys that appear twice in one mapping (YAML would silently keep the last)."""
    found: list[tuple[str, int]] = []
    if isinstance(node, MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, ScalarNode):
                if key.value in seen:
                    found.append((key.value, key.start_mark.line + 1 + offset))
                seen.add(key.value)
            found.extend(duplicate_keys(value, offset))
    elif isinstance(node, SequenceNode):
        for item in node.value:
            found.extend(duplicate_keys(item, offset))
    return found


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves an impossible date (2026-13-01) as text, so the checker can name its line."""

    def construct_yaml_timestamp(self, node):  # noqa: D102
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def load_located(text: str, offset: int = 0) -> LocatedYaml:
    """Safe-load one YAML document keeping its nodes; raises YamlSyntaxError with the line."""
    try:
        root = yaml.compose(text, Loader=_Loader)
        data = _Loader("").construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 + offset if mark is not None else None
        raise YamlSyntaxError(line, str(error.problem or error)) from None
    except yaml.YAMLError as error:
        raise YamlSyntaxError(None, str(error)) from None
    return LocatedYaml(data=data, root=root, offset=offset)
