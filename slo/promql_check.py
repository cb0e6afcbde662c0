"""Whether a query is PromQL at all, asked of a real parser (the Rust `promql-parser`).

`slo.promql` stays the one reader of selectors, whose parts Apollo uses; this module only
says yes or no, with the parser's own message, so that `apollo slo validate` refuses what
Prometheus would refuse before `apollo slo rules` writes it into a rules file.

Queries are Sloth-style templates: `{{.window}}` is filled in first, as Sloth's own check
does (it renders the template with a fixed window before parsing). The Rust parser may
accept a few things Prometheus 2.42 refuses (newer functions); `promtool check rules`
stays the final word in the tests.
"""

from __future__ import annotations

import re

import promql_parser

WINDOW = "5m"  # what `{{.window}}` becomes for the check; any valid range would do
_PLACEHOLDER = re.compile(r"{{ *\.window *}}")
# The Rust parser recurses per operator and bracket: thousands of them take seconds and
# tens of thousands overflow its stack (the process dies). Real SLO queries hold a few
# dozen, so past this many the query is refused before the parser sees it.
MAX_OPERATORS = 500
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', re.DOTALL)
_OPERATOR = re.compile(r"[-+*/%^(\[{<>=!]|\b(?:and|or|unless|atan2)\b", re.IGNORECASE)


def fill_window(query: str, window: str = WINDOW) -> str:
    """`query` with each `{{.window}}` (`{{ .window }}`) replaced by `window`."""
    return _PLACEHOLDER.sub(window, query)


def _quoted(match: re.Match[str]) -> str:
    """A backtick (raw) string as the same text in double quotes: the Rust parser reads
    escapes inside backticks (`\\d` is refused), where PromQL reads none."""
    literal = match.group()
    if not literal.startswith("`"):
        return literal
    body = literal[1:-1].replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{body}"'


def promql_error(query: str) -> str | None:
    """None if `query` (its `{{.window}}` filled in) parses as PromQL, else the parser's
    message, one line: the reason Prometheus would refuse a rule holding it."""
    text = fill_window(query)
    operators = len(_OPERATOR.findall(_STRING.sub('""', text)))
    if operators > MAX_OPERATORS:
        return (f"too complex to check: {operators:,} operators and brackets, at most "
                f"{MAX_OPERATORS} (an SLO query holds a few dozen)")
    try:
        promql_parser.parse(_STRING.sub(_quoted, text))
    except (ValueError, TypeError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        return f"not valid PromQL: {message}"
    except BaseException as exc:  # a panic in the Rust parser surfaces as PanicException
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        return f"not valid PromQL: the parser failed ({type(exc).__name__})"
    return None
