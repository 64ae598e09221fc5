"""``clinr1 data``: look at a dataset through clinr1's unified item schema.

Module-level imports are typer and the stdlib only; the loader (and ``datasets``) load inside
the command.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from clinr1.cli.command import Command
from clinr1.cli.recipe import error

if TYPE_CHECKING:
    from clinr1.data import LoadResult

data_app = typer.Typer(
    help="Datasets in clinr1's unified item schema (MedQA, MedMCQA, MedXpertQA, PubMedQA, MMLU, "
    "your own files).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _columns(specs: list[str]) -> dict[str, str | list[str]]:
    """``["question=stem", "options=opa,opb"]`` -> ``{"question": "stem", "options": [...]}``."""
    out: dict[str, str | list[str]] = {}
    for spec in specs:
        field, sep, column = spec.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise error(f"--column takes FIELD=COLUMN (e.g. question=stem), got {spec!r}")
        names = [c.strip() for c in column.split(",") if c.strip()]
        out[field.strip()] = names if field.strip() == "options" and len(names) > 1 else names[0]
    return out


SourceArg = Annotated[
    str,
    typer.Argument(
        help="adapter: medqa, medmcqa, medxpertqa, pubmedqa, mmlu-medical, file (jsonl, "
        "csv), unified, demo",
        show_default=False,
    ),
]
PathOpt = Annotated[
    str | None, typer.Option("--path", help="local file (jsonl/json/csv/tsv/parquet)")
]
HubOpt = Annotated[
    str | None, typer.Option("--hub", help="Hugging Face dataset id (default: the adapter's)")
]
SubsetOpt = Annotated[
    str | None, typer.Option("--subset", help="hub configuration (mmlu-medical: subjects)")
]
CopBaseOpt = Annotated[
    int | None,
    typer.Option("--cop-base", min=0, max=1, help="MedMCQA: 'cop' is 0- or 1-based"),
]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="a bad row is an error instead of skipped")
]
ColumnOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--column",
        help="generic adapter: FIELD=COLUMN, repeatable; options=COL or options=A,B,C,D",
    ),
]
AnswerFormatOpt = Annotated[
    str | None,
    typer.Option("--answer-format", help="generic adapter: letter, index0, index1 or text"),
]


def load_source(
    *, key: str = "data.*", prefix: str = "", column: list[str] | None = None, **fields: object
) -> LoadResult:
    """Build a ``DataSource`` from command-line options and load it.

    A bad option or an unreachable dataset ends in one ``error:`` line and exit 2; ``prefix``
    is put before the offending field's name (``--`` where fields are options).
    """
    from pydantic import ValidationError

    from clinr1.data import DataError, DataSource, load_items

    if column:
        fields["columns"] = _columns(column)
    try:
        data_source = DataSource(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise error(f"{prefix}{where}: {message}" if where else message) from None

    import datasets

    datasets.disable_progress_bars()
    try:
        return load_items(data_source, key=key)
    except DataError as exc:
        raise error(str(exc)) from None


@data_app.command(cls=Command)
def preview(
    source: SourceArg,
    path: PathOpt = None,
    hub: HubOpt = None,
    subset: SubsetOpt = None,
    split: Annotated[
        str | None, typer.Option("--split", help="split, e.g. test or train[:50%]")
    ] = None,
    n: Annotated[int, typer.Option("--n", min=1, help="how many items to show")] = 5,
    as_json: Annotated[
        bool, typer.Option("--json", help="one unified item per line, as JSON")
    ] = False,
    cop_base: CopBaseOpt = None,
    strict: StrictOpt = False,
    column: ColumnOpt = None,
    answer_format: AnswerFormatOpt = None,
) -> None:
    """Show the first N items of a dataset as clinr1 reads them.

    The summary line (items kept, bad rows skipped and why) goes to stderr; --json stays clean.
    """
    result = load_source(
        name=source,
        path=path,
        hub=hub,
        subset=subset,
        split=split,
        limit=n,
        strict=strict,
        cop_base=cop_base,
        column=column,
        answer_format=answer_format,
    )

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
