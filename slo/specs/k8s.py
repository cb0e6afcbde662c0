"""The documents of a spec text, and the Kubernetes metadata of Sloth's `PrometheusServiceLevel`.

Rule export writes one output document per input document of Sloth's formats, as `sloth
generate` does: a `PrometheusServiceLevel` becomes a prometheus-operator `PrometheusRule`
carrying the object's name, namespace, labels and annotations, a `prometheus/v1` or OpenSLO
v1alpha document a plain rules document. The SLO loaders do not keep that metadata (an SLO
has no Kubernetes identity), so this module reads it, with each document's first line to
tell which document an SLO came from. SLOs of Apollo's other formats (its own, OpenSLO v1,
Pyrra) share one plain rules document (`merge_plain`): Prometheus reads only the first
document of a rules file, and Sloth has no say there.

Sloth decodes the object as Kubernetes does (YAML turned into JSON, then typed), so a
label or annotation value that is not a string (`tier: 2`) is refused there; so it is here,
at its line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from slo.errors import InputError, SpecError, SpecErrors
from slo.model import SLO
from slo.yamlpos import YamlDocument, iter_documents

API_VERSION = "sloth.slok.dev/v1"
KIND = "PrometheusServiceLevel"
# The formats `sloth generate` reads, which it writes back one output document per input.
SLOTH_FORMATS = frozenset({"prometheus/v1", API_VERSION, "openslo/v1alpha"})


@dataclass(frozen=True)
class ObjectMeta:
    """What a `PrometheusRule` takes from the `PrometheusServiceLevel` it is made from.

    `labels` and `annotations` are None when the object has none (not written), as against
    an empty mapping, which Sloth writes as `{}`.
    """

    name: str = ""
    namespace: str = ""
    labels: Mapping[str, str] | None = None
    annotations: Mapping[str, str] | None = None


@dataclass(frozen=True)
class SpecDocument:
    """One YAML document of a spec file: where it starts, and its metadata when it is a
    Sloth `PrometheusServiceLevel` (None: its rules are a plain rules file)."""

    line: int
    k8s: ObjectMeta | None = None
    slos: tuple[SLO, ...] = field(default=(), compare=False)


def spec_documents(text: str, *, path: str) -> list[SpecDocument]:
    """The documents of `text` (read from `path`, which only names it in messages).

    Raises SpecErrors for metadata Sloth's Kubernetes decoding refuses; YAML errors are the
    loader's to report (`load_slos` reads the same text first), and raise InputError here.
    """
    documents, errors = [], []
    for doc in iter_documents(text, path=path):
        data = doc.data
        k8s = None
        if (isinstance(data, dict) and data.get("apiVersion") == API_VERSION
                and data.get("kind") == KIND):
            k8s = _metadata(doc, path, errors)
        documents.append(SpecDocument(doc.start_line, k8s))
    if errors:
        raise SpecErrors(errors)
    return documents


def by_document(documents: Sequence[SpecDocument], slos: Iterable[SLO]) -> list[SpecDocument]:
    """`documents` holding their SLOs (those of one file), in order; an SLO belongs to the
    last document starting at or before its line. Documents without SLOs are left out."""
    held: list[list[SLO]] = [[] for _ in documents]
    for slo in slos:
        line = slo.source.line or 0
        index = max((i for i, d in enumerate(documents) if d.line <= line), default=0)
        if documents:
            held[index].append(slo)
    return [SpecDocument(d.line, d.k8s, tuple(s)) for d, s in zip(documents, held, strict=True)
            if s]


def merge_plain(documents: Iterable[SpecDocument]) -> list[SpecDocument]:
    """`documents` (holding SLOs) as output documents: each document of a Sloth format
    stays one; every other document's SLOs join the first of them, in order."""
    out: list[SpecDocument] = []
    plain: int | None = None
    for document in documents:
        if document.k8s is not None or all(s.source.format in SLOTH_FORMATS
                                           for s in document.slos):
            out.append(document)
        elif plain is None:
            plain = len(out)
            out.append(document)
        else:
            first = out[plain]
            out[plain] = SpecDocument(first.line, None, (*first.slos, *document.slos))
    return out


def _metadata(doc: YamlDocument, path: str, errors: list[InputError]) -> ObjectMeta:
    meta = doc.data.get("metadata")

    def fail(msg: str, *keys: str) -> None:
        where = ("metadata", *keys)
        errors.append(SpecError(msg, path=path, line=doc.line_of(where), field=".".join(where)))

    if meta is None:
        return ObjectMeta()
    if not isinstance(meta, dict):
        fail("expected a mapping (name, namespace, labels, annotations)")
        return ObjectMeta()
    texts = {}
    for key in ("name", "namespace"):
        value = meta.get(key)
        if value is not None and not isinstance(value, str):
            fail(f"expected a string, got {_describe(value)}", key)
        texts[key] = value if isinstance(value, str) else ""
    maps: dict[str, dict[str, str] | None] = {}
    for key in ("labels", "annotations"):
        value = meta.get(key)
        if value is None:
            maps[key] = None
            continue
        if not isinstance(value, dict):
            fail(f"expected a mapping of strings, got {_describe(value)}", key)
            maps[key] = None
            continue
        maps[key] = {}
        for name, item in value.items():
            if not isinstance(name, str) or not isinstance(item, str):
                fail(f"expected a string (Kubernetes decodes {key} as strings: quote it), "
                     f"got {_describe(item)}", key, str(name))
            else:
                maps[key][name] = item  # type: ignore[index]
    return ObjectMeta(texts["name"], texts["namespace"], maps["labels"], maps["annotations"])


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)
