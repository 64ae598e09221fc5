"""``clinr1 data``: look at a dataset through clinr1's unified item schema.

Module-level imports are typer and the stdlib only; the loader (and ``datasets``) load inside
the command.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from clinr1.cli.command import Command
from clinr1.cli.options import (
    AnswerFormatOpt,
    ColumnOpt,
    CopBaseOpt,
    HubOpt,
    PathOpt,
    SourceArg,
    StrictOpt,
    SubsetOpt,
    load_source,
)

if TYPE_CHECKING:
    from clinr1.data import LoadResult

data_app = typer.Typer(
    help="Datasets in clinr1's unified item schema (MedQA, MedMCQA, MedXpertQA, PubMedQA, MMLU, "
    "your own files).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@data_app.command(cls=Command)
def preview(
    source: SourceArg,
    path: PathOpt = None,
    hub: HubOpt = None,
    subset: SubsetOpt = None,
    split: Annotated[
        str | None, typer.Option("--split", help="Split, e.g. test or train[:50%].")
    ] = None,
    n: Annotated[int, typer.Option("--n", min=1, help="How many items to show.")] = 5,
    as_json: Annotated[
        bool, typer.Option("--json", help="One unified item per line, as JSON.")
    ] = False,
    cop_base: CopBaseOpt = None,
    strict: StrictOpt = False,
    column: ColumnOpt = None,
    answer_format: AnswerFormatOpt = None,
) -> None:
    """Show the first N items of a dataset as clinr1 reads them.

    The summary line (items kept, bad rows skipped and why) goes to stderr; --json stays clean.
    """
    result = load_source(locals(), name=source, limit=n)  # the options, before any other local

    if as_json:
        for item in result.items:
            typer.echo(json.dumps(item.to_dict(), ensure_ascii=False))
    else:
        _render(result)
    typer.echo(result.summary(), err=True)


def _render(result: LoadResult) -> None:
    from rich.console import Console, Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    console = Console()
    for item in result.items:
        body = []
        if item.context:
            context = item.context if len(item.context) < 600 else item.context[:600] + " …"
            body.append(Text(context, style="dim"))
        body.append(Text(item.question))
        options = Table.grid(padding=(0, 1))
        for letter, text in item.options.items():
            mark = "✓" if letter == item.answer else " "
            style = "bold green" if letter == item.answer else ""
            options.add_row(Text(mark, style=style), Text(f"{letter}.", style=style), Text(text))
        body.append(options)
        if item.explanation:
            body.append(Text(f"Explanation: {item.explanation}", style="italic"))
        title = f"{item.id}  [{item.source}]  answer {item.answer}"
        console.print(Panel(Group(*body), title=Text(title), title_align="left"))
