"""``clinr1 data export-verl``: a dataset as verl's RL parquet, scored by the CRPO adapter.

Module-level imports are typer and the stdlib only; the loader, ``datasets`` and ``pyarrow`` load
inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clinr1.cli.data import _columns, _fail


def export_verl(
    source: Annotated[
        str,
        typer.Argument(
            help="adapter: medqa, medmcqa, medxpertqa, pubmedqa, mmlu-medical, file (jsonl, "
            "csv), unified, demo",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", help="parquet file to write, e.g. data/medqa-train.parquet"),
    ],
    path: Annotated[
        str | None, typer.Option("--path", help="local file (jsonl/json/csv/tsv/parquet)")
    ] = None,
    hub: Annotated[
        str | None, typer.Option("--hub", help="Hugging Face dataset id (default: the adapter's)")
    ] = None,
    subset: Annotated[
        str | None, typer.Option("--subset", help="hub configuration (mmlu-medical: subjects)")
    ] = None,
    split: Annotated[
        str | None, typer.Option("--split", help="split, e.g. test or train[50%:]")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="at most this many items (default: all)")
    ] = None,
    template: Annotated[
        str, typer.Option("--template", help="prompt template: crpo, r1 or plain")
    ] = "crpo",
    cop_base: Annotated[
        int | None,
        typer.Option("--cop-base", min=0, max=1, help="MedMCQA: 'cop' is 0- or 1-based"),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="a bad row is an error instead of skipped")
    ] = False,
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            help="generic adapter: FIELD=COLUMN, repeatable; options=COL or options=A,B,C,D",
        ),
    ] = None,
    answer_format: Annotated[
        str | None,
        typer.Option("--answer-format", help="generic adapter: letter, index0, index1 or text"),
    ] = None,
) -> None:
    """Write a dataset as verl's RL parquet, to train with verl and the CRPO rewards.

    Columns: data_source, prompt (the chat clinr1 trains on, --template), ability, reward_model
    (the gold letter) and extra_info (question, context, options as JSON), which
    clinr1.integrations.verl.compute_score reads back. The summary line goes to stderr.
    """
    from pydantic import ValidationError

    from clinr1.data import DataError, DataSource, load_items
    from clinr1.prompts import TEMPLATES

    if template not in TEMPLATES:
        raise _fail(f"unknown template {template!r}; valid: {', '.join(TEMPLATES)}")
    if out.suffix != ".parquet":
        raise _fail(f"--out {out}: give a .parquet file name")
    try:
        data_source = DataSource(
            name=source,
            path=path,
            hub=hub,
            subset=subset,
            split=split,
            limit=limit,
            strict=strict,
            cop_base=cop_base,
            columns=_columns(column or []),
            answer_format=answer_format,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise _fail(f"{where}: {message}" if where else message) from None

    import datasets

    from clinr1.integrations.verl import verl_rows, write_parquet

    datasets.disable_progress_bars()
    try:
        result = load_items(data_source)
    except DataError as exc:
        raise _fail(str(exc)) from None
    typer.echo(result.summary(), err=True)
    if not result.items:
        raise _fail(f"{source}: no usable items, nothing written")
    rows = verl_rows(result.items, template=template, split=split or "train")
    try:
        write_parquet(rows, out)
    except OSError as exc:
        raise _fail(f"cannot write {out}: {exc.strerror or exc}") from None
    typer.echo(f"wrote {len(rows)} rows to {out}")
