"""YAML documents with the line of every value, read safely, so errors can say `file:line: field`.

Pure: takes text (or the bytes of a file), never opens one. Every input is bounded before
it can cost much time or memory (`Limits`):

    max_chars  10 MiB of text (characters of a str, bytes of a file); and as much in the
               scalars of the expanded text, so aliases cannot repeat a long string past it
    max_nodes  100,000 nodes (keys, values, list items) in the expanded text, its documents
               together: an alias counts as a copy of what its anchor holds, so a "billion
               laughs" stops at the alias that passes the limit, a few hundred events in
    max_depth  100 levels of nested mappings and lists, aliases expanded

An anchor used inside itself (a recursive alias) is refused: no configuration or spec
needs a cycle, and every reader downstream would walk it forever. Anchors, aliases and
merge keys (`<<: *defaults`) otherwise work as in any YAML reader; an anchor may be
redefined, a later alias taking the latest definition (as Go's yaml.v3 does for the
Kubernetes and Sloth files that use them).

The parser is libyaml's (`yaml.CSafeLoader`) when PyYAML was built with it, else PyYAML's
own `SafeLoader`; both give events, which `_Composer` turns into nodes without recursion,
counting as it goes. An alias shares its anchor's node, so each node is built and
constructed once, and line numbers are looked up on demand by walking a path down the
nodes (each mapping indexed once). Every failure is one `InputError` with path and line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from slo.errors import InputError

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Limits:
    """How much YAML one text may hold (see the module docstring)."""

    max_chars: int = 10 * 1024 * 1024
    max_nodes: int = 100_000
    max_depth: int = 100


LIMITS = Limits()


@dataclass
class YamlDocument:
    """One parsed document and its nodes, for the 1-based line where each path starts."""

    data: Any
    root: yaml.Node | None = None
    start_line: int = 1
    _index: dict[int, dict[str | int, tuple[int, yaml.Node]]] = field(
        default_factory=dict, repr=False, compare=False)  # children by node id, built once

    def line_of(self, path: Path) -> int:
        """Line of `path`, or of its nearest ancestor that exists (a missing field).

        A mapping entry is at its key's line, a list item at its own; a path through an
        alias continues in the anchor's text, where the values are written.
        """
        line, node = self.start_line, self.root
        for key in path:
            found = self._children(node).get(key) if node is not None else None
            if found is None:
                break
            line, node = found
        return line

    def node_of(self, path: Path) -> yaml.Node | None:
        """The node at `path` (its original text and style), None if it is not there."""
        node = self.root
        for key in path:
            found = self._children(node).get(key) if node is not None else None
            if found is None:
                return None
            node = found[1]
        return node

    def _children(self, node: yaml.Node) -> dict[str | int, tuple[int, yaml.Node]]:
        """Line and node of each child by key or index, built once per node."""
        children = self._index.get(id(node))
        if children is None:
            children = {}
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if isinstance(key_node, yaml.ScalarNode):
                        children[key_node.value] = (key_node.start_mark.line + 1, value_node)
            elif isinstance(node, yaml.SequenceNode):
                for index, item in enumerate(node.value):
                    children[index] = (item.start_mark.line + 1, item)
            self._index[id(node)] = children
        return children


class _LocatedConstruction:
    """Construction errors (a date that does not exist, an integer of 5,000 digits) name
    the node's line instead of escaping as bare ValueErrors."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)  # type: ignore[misc]
        except (ValueError, TypeError, OverflowError) as exc:
            if isinstance(exc, yaml.YAMLError):
                raise
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {_shown(node)}: {exc}", node.start_mark) from None


class _PyLoader(_LocatedConstruction, yaml.SafeLoader):
    """PyYAML's own parser, in Python."""


_Loader: Any = _PyLoader
if hasattr(yaml, "CSafeLoader"):
    class _CLoader(_LocatedConstruction, yaml.CSafeLoader):
        """libyaml's parser (the same events, about ten times faster)."""

    _Loader = _CLoader


def _shown(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        text = node.value
        return repr(text if len(text) <= 40 else text[:40] + "…")
    return "this value"


@dataclass
class _Anchor:
    """A node an alias may name, with what one more copy of it costs."""

    node: yaml.Node
    nodes: int = 1
    chars: int = 0
    height: int = 0  # levels of mappings and lists inside, itself included
    open: bool = True  # still being read: an alias to it would be recursive


@dataclass
class _Open:
    """A mapping or list being read."""

    node: yaml.Node
    anchor: _Anchor | None
    nodes_before: int
    chars_before: int
    height: int = 1
    key: yaml.Node | None = None


_ALIAS_COUNTS = "an alias counts as a copy of its anchor"


class _Composer:
    """Parser events to nodes, without recursion, within `limits` over the whole text."""

    def __init__(self, loader: Any, limits: Limits, path: str) -> None:
        self.loader, self.limits, self.path = loader, limits, path
        self.nodes = 0
        self.chars = 0

    def fail(self, msg: str, event: Any) -> InputError:
        return InputError(msg, path=self.path, line=event.start_mark.line + 1)

    def count(self, nodes: int, chars: int, event: Any) -> None:
        self.nodes += nodes
        self.chars += chars
        if self.nodes > self.limits.max_nodes:
            raise self.fail(f"the YAML expands to more than {self.limits.max_nodes:,} nodes "
                            f"(keys, values and items; {_ALIAS_COUNTS})", event)
        if self.chars > self.limits.max_chars:
            raise self.fail(f"the YAML's scalars expand past {self.limits.max_chars:,} "
                            f"characters ({_ALIAS_COUNTS})", event)

    def document(self) -> yaml.Node:
        """The root node of the next document (its start event already read)."""
        anchors: dict[str, _Anchor] = {}
        stack: list[_Open] = []
        while True:
            event = self.loader.get_event()
            if isinstance(event, yaml.ScalarEvent):
                node, height = self._scalar(event, anchors), 0
            elif isinstance(event, yaml.AliasEvent):
                node, height = self._alias(event, anchors, len(stack))
            elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                stack.append(self._open(event, anchors, len(stack)))
                continue
            else:  # the end of a mapping or list
                done = stack.pop()
                done.node.end_mark = event.end_mark
                if done.anchor is not None:
                    done.anchor.nodes = self.nodes - done.nodes_before
                    done.anchor.chars = self.chars - done.chars_before
                    done.anchor.height, done.anchor.open = done.height, False
                node, height = done.node, done.height
            if not stack:
                return node
            parent = stack[-1]
            parent.height = max(parent.height, height + 1)
            if isinstance(parent.node, yaml.SequenceNode):
                parent.node.value.append(node)
            elif parent.key is None:
                parent.key = node
            else:
                parent.node.value.append((parent.key, node))
                parent.key = None

    def _scalar(self, event: Any, anchors: dict[str, _Anchor]) -> yaml.Node:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark,
                               style=event.style)
        self.count(1, len(event.value), event)
        if event.anchor is not None:
            anchors[event.anchor] = _Anchor(node, 1, len(event.value), 0, open=False)
        return node

    def _alias(self, event: Any, anchors: dict[str, _Anchor], depth: int
               ) -> tuple[yaml.Node, int]:
        name = event.anchor
        anchor = anchors.get(name)
        if anchor is None:
            raise self.fail(f"alias *{name} has no anchor &{name} before it in its document",
                            event)
        if anchor.open:
            raise self.fail(f"alias *{name} is inside its own anchor &{name} (line "
                            f"{anchor.node.start_mark.line + 1}): a recursive structure", event)
        if depth + anchor.height > self.limits.max_depth:
            raise self.fail(f"alias *{name} nests deeper than {self.limits.max_depth} levels",
                            event)
        self.count(anchor.nodes, anchor.chars, event)
        return anchor.node, anchor.height

    def _open(self, event: Any, anchors: dict[str, _Anchor], depth: int) -> _Open:
        if depth + 1 > self.limits.max_depth:
            raise self.fail(f"nested deeper than {self.limits.max_depth} levels", event)
        mapping = isinstance(event, yaml.MappingStartEvent)
        kind = yaml.MappingNode if mapping else yaml.SequenceNode
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(kind, None, event.implicit)
        node = kind(tag, [], event.start_mark, None, flow_style=event.flow_style)
        self.count(1, 0, event)
        anchor = None
        if event.anchor is not None:
            anchor = anchors[event.anchor] = _Anchor(node)
        return _Open(node, anchor, self.nodes - 1, self.chars)


def _text(source: str | bytes, path: str, limits: Limits) -> str:
    """The text to parse: within the size limit, decoded from UTF-8 if given as bytes."""
    if len(source) > limits.max_chars:
        head = source[:limits.max_chars]
        line = (head.count("\n") if isinstance(head, str) else head.count(b"\n")) + 1
        unit = "characters" if isinstance(source, str) else "bytes"
        raise InputError(f"too large for a YAML file: {len(source):,} {unit}, at most "
                         f"{limits.max_chars:,} are read (the limit is passed on this line)",
                         path=path, line=line)
    if isinstance(source, str):
        return source
    try:
        return source.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = source.count(b"\n", 0, exc.start) + 1
        raise InputError(f"not UTF-8 text (byte 0x{source[exc.start]:02x})", path=path,
                         line=line) from None


def _error_line(exc: Exception, text: str) -> int | None:
    """The 1-based line a parser or encoding error points at, when it says."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        return mark.line + 1 if mark else None
    if isinstance(exc, yaml.reader.ReaderError) and isinstance(exc.character, int):
        at = text.find(chr(exc.character))  # libyaml gives a byte offset: find the character
        return text.count("\n", 0, at) + 1 if at >= 0 else None
    if isinstance(exc, UnicodeEncodeError):  # a lone surrogate, libyaml encoding the text
        return text.count("\n", 0, exc.start) + 1
    return None


def iter_documents(source: str | bytes, *, path: str, limits: Limits = LIMITS
                   ) -> Iterator[YamlDocument]:
    """Yield each document of a (possibly multi-document) YAML text with its nodes.

    `source` is the text, or a file's bytes (UTF-8, a BOM allowed). `path` only names it
    in messages. Raises InputError (path and line) for invalid YAML and for any limit
    passed; the documents before the problem have been yielded.
    """
    text = _text(source, path, limits)
    loader = None
    try:
        loader = _Loader(text)
        composer = _Composer(loader, limits, path)
        loader.get_event()  # the stream's start
        while not loader.check_event(yaml.StreamEndEvent):
            loader.get_event()  # the document's start
            root = composer.document()
            loader.get_event()  # the document's end
            data = loader.construct_document(root)
            yield YamlDocument(data=data, root=root, start_line=root.start_mark.line + 1)
    except (yaml.YAMLError, UnicodeEncodeError) as exc:
        problem = exc.problem if isinstance(exc, yaml.MarkedYAMLError) else None
        reason = problem or (exc.reason if isinstance(exc, UnicodeEncodeError) else str(exc))
        first = reason.strip().splitlines()[0] if reason.strip() else type(exc).__name__
        raise InputError(f"not valid YAML: {first}", path=path,
                         line=_error_line(exc, text)) from None
    finally:
        if loader is not None:
            loader.dispose()


def load_document(source: str | bytes, *, path: str, limits: Limits = LIMITS) -> YamlDocument:
    """Exactly one document; an empty text is an empty mapping."""
    docs = list(iter_documents(source, path=path, limits=limits))
    if len(docs) > 1:
        raise InputError(
            f"expected one YAML document, found {len(docs)}", path=path, line=docs[1].start_line
        )
    return docs[0] if docs else YamlDocument(data={})
