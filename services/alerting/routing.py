"""Which notifiers hear about an alert: Alertmanager's routing tree, from the configuration.

An alert enters at the root. Each child whose matchers all match the alert's labels takes
it; the walk stops at the first child that matches unless that child says `continue`. A
node no child takes keeps the alert itself. Receivers, `group_by`, `group_wait` and
`repeat_interval` are inherited down the tree. Without a configured tree every alert goes
to every notifier, ungrouped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from services.config import Notifier, Route
from services.errors import ConfigError
from slo.errors import SpecError
from slo.promql import Matcher, parse_selector

DEFAULT_REPEAT = timedelta(hours=4)  # Alertmanager's default repeat_interval


@dataclass(frozen=True)
class Destination:
    """One notifier an alert goes to, and how the route groups and repeats it."""

    notifier: str
    group_by: tuple[str, ...] = ()
    group_wait_s: float = 0.0
    repeat_interval_s: float = DEFAULT_REPEAT.total_seconds()

    def group_key(self, labels: Mapping[str, str]) -> str:
        """Alerts with the same key travel together; `...` groups by every label."""
        if "..." in self.group_by:
            return "{" + ",".join(f"{k}={v!r}" for k, v in sorted(labels.items())) + "}"
        return "{" + ",".join(f"{k}={labels.get(k, '')!r}" for k in self.group_by) + "}"


@dataclass(frozen=True)
class _Node:
    matchers: tuple[Matcher, ...]
    receiver: str | None
    group_by: tuple[str, ...]
    group_wait_s: float
    repeat_interval_s: float
    continue_: bool
    children: tuple[_Node, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels.get(m.label, "")) for m in self.matchers)


def _matchers(texts: Sequence[str], where: str) -> tuple[Matcher, ...]:
    if not texts:
        return ()
    try:
        return parse_selector("{" + ",".join(texts) + "}", field=f"{where}.matchers").matchers
    except SpecError as exc:
        raise ConfigError(f"{where}.matchers: {exc.reason}") from None


def _build(route: Route, parent: _Node | None, where: str) -> _Node:
    inherited = parent or _Node((), None, (), 0.0, DEFAULT_REPEAT.total_seconds(), False, ())
    node = _Node(
        matchers=_matchers(route.matchers, where),
        receiver=route.receiver if route.receiver is not None else inherited.receiver,
        group_by=tuple(route.group_by) if route.group_by is not None else inherited.group_by,
        group_wait_s=(route.group_wait.total_seconds() if route.group_wait is not None
                      else inherited.group_wait_s),
        repeat_interval_s=(route.repeat_interval.total_seconds()
                           if route.repeat_interval is not None
                           else inherited.repeat_interval_s),
        continue_=route.continue_,
        children=(),
    )
    children = tuple(_build(child, node, f"{where}.routes.{i}")
                     for i, child in enumerate(route.routes))
    return _Node(node.matchers, node.receiver, node.group_by, node.group_wait_s,
                 node.repeat_interval_s, node.continue_, children)


class Router:
    """Destinations of an alert by its labels."""

    def __init__(self, route: Route | None, notifiers: Sequence[Notifier]) -> None:
        self._everyone = [Destination(n.name) for n in notifiers]
        self._root = None if route is None else _build(route, None, "alerting.route")

    def destinations(self, labels: Mapping[str, str]) -> list[Destination]:
        if self._root is None:
            return list(self._everyone)
        found: list[Destination] = []
        self._walk(self._root, labels, found)
        seen: set[str] = set()
        unique = []
        for d in found:  # one delivery per notifier, the first route that took it wins
            if d.notifier not in seen:
                seen.add(d.notifier)
                unique.append(d)
        return unique

    def _walk(self, node: _Node, labels: Mapping[str, str], found: list[Destination]) -> None:
        taken = False
        for child in node.children:
            if child.matches(labels):
                self._walk(child, labels, found)
                taken = True
                if not child.continue_:
                    break
        if not taken and node.receiver is not None:
            found.append(Destination(node.receiver, node.group_by, node.group_wait_s,
                                     node.repeat_interval_s))
