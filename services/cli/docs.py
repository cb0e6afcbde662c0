"""`apollo roadmap` and `apollo costs`: the platform's documents."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from services.cli.app import JsonOption, app, open_store
from services.errors import ApolloError
from slo.errors import InputError, InputErrors


@app.command()
def roadmap(
    document: Annotated[Path, typer.Argument(help="A markdown roadmap: phases as headings, "
                                             "nested checklists.")],
    json_out: JsonOption = False,
    store: Annotated[bool, typer.Option("--store", help="Also record it (and its progress "
                                        "over time) in the store.")] = False,
) -> None:
    """Completion of a roadmap document, per item, phase and overall."""

    from collectors.roadmap import collect_roadmap, read_roadmap
    from services.documents.roadmap import roadmap_json, roadmap_text

    tree = read_roadmap(document)
    typer.echo(json.dumps(roadmap_json(tree), indent=2) if json_out else roadmap_text(tree))
    if store:
        engine = open_store()  # never migrates: `apollo db upgrade` does
        try:
            run = collect_roadmap(engine, document, document=str(document))
        finally:
            engine.dispose()
        if run.errors:
            raise ApolloError("; ".join(run.errors))


def _month_flag(text: str | None) -> date:
    """--month as the first day of its month (this month without one); a bad value names
    the flag instead of leaving a traceback."""
    from services.documents.costs import parse_month

    try:
        return parse_month(text or datetime.now(UTC).strftime("%Y-%m"))
    except ValueError as exc:
        raise typer.BadParameter(str(exc).removeprefix("--month: "), param_hint="--month"
                                 ) from None


@app.command()
def costs(
    files: Annotated[list[Path], typer.Argument(help="Cost tables: .csv, .md or OpenCost "
                                                ".json.")],
    mau: Annotated[int | None, typer.Option(help="Monthly active users, for cost per "
                                            "user.")] = None,
    month: Annotated[str | None, typer.Option(help="YYYY-MM the lines are for (with "
                                              "--store; default this month).")] = None,
    json_out: JsonOption = False,
    store: Annotated[bool, typer.Option("--store", help="Also record the lines.")] = False,
) -> None:
    """Totals, annual figures, cost per user and the optimisation potential, computed;
    figures a document states that do not add up are flagged."""

    from collectors.cost import collect_cost_file, read_costs
    from services.documents.costs import costs_json, costs_text, summarize_costs

    first = _month_flag(month)
    summaries, problems = [], []
    for path in files:  # every file read and checked before anything is shown or stored
        try:
            summaries.append(summarize_costs(read_costs(path), mau=mau))
        except InputError as exc:
            problems.append(exc)
    if problems:
        raise InputErrors(problems)
    for summary in summaries:
        typer.echo(json.dumps(costs_json(summary), indent=2) if json_out
                   else costs_text(summary))
    if not store:
        return
    engine = open_store()
    try:
        for path in files:
            run = collect_cost_file(engine, path, month=first, source=str(path))
            if run.errors:
                raise ApolloError("; ".join(run.errors))
    finally:
        engine.dispose()


