"""YAML documents with the line of every value, so errors can say `file:line: field`.

Pure: takes text, never opens a file. PyYAML's composer already knows each node's
position; we keep it in a map from the value's path (tuple of keys and list indexes).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from slo.errors import InputError

Path = tuple[str | int, ...]


@dataclass
class YamlDocument:
    """One parsed document and the 1-based line where each path starts."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    start_line: int = 1

    def line_of(self, path: Path) -> int:
        """Line of `path`, or of its nearest ancestor that exists (a missing field)."""
        for cut in range(len(path), -1, -1):
            if path[:cut] in self.lines:
                return self.lines[path[:cut]]
        return self.start_line


def _walk(node: yaml.Node, path: Path, out: dict[Path, int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            out[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), out)
            out[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), out)


def iter_documents(text: str, *, path: str) -> Iterator[YamlDocument]:
    """Yield each document of a (possibly multi-document) YAML text with its line map."""
    loader = yaml.SafeLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            lines: dict[Path, int] = {}
            _walk(node, (), lines)
            data = loader.construct_document(node)
            yield YamlDocument(data=data, lines=lines, start_line=node.start_mark.line + 1)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise InputError(f"not valid YAML: {exc.problem or exc}", path=path, line=line) from exc
    finally:
        loader.dispose()


def load_document(text: str, *, path: str) -> YamlDocument:
    """Exactly one document; an empty text is an empty mapping."""
    docs = list(iter_documents(text, path=path))
    if len(docs) > 1:
        raise InputError(
            f"expected one YAML document, found {len(docs)}", path=path, line=docs[1].start_line
        )
    return docs[0] if docs else YamlDocument(data={})
