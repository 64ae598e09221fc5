"""``clinr1 data export-verl``: a dataset as verl's RL parquet, scored by the CRPO adapter.

Module-level imports are typer and the stdlib only; the loader, ``datasets`` and ``pyarrow`` load
inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clinr1.cli.command import error
from clinr1.cli.options import (
    AnswerFormatOpt,
    ColumnOpt,
    CopBaseOpt,
    HubOpt,
    PathOpt,
    SourceArg,
    StrictOpt,
    SubsetOpt,
    TemplateOption,
    load_for_file,
)


def export_verl(
    source: SourceArg,
    out: Annotated[
        Path,
        typer.Option("--out", help="Parquet file to write, e.g. data/medqa-train.parquet."),
    ],
    path: PathOpt = None,
    hub: HubOpt = None,
    subset: SubsetOpt = None,
    split: Annotated[
        str | None, typer.Option("--split", help="Split, e.g. test or train[50%:].")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most this many items (default: all).")
    ] = None,
    template: TemplateOption = "crpo",
    cop_base: CopBaseOpt = None,
    strict: StrictOpt = False,
    column: ColumnOpt = None,
    answer_format: AnswerFormatOpt = None,
) -> None:
    """Write a dataset as verl's RL parquet, to train with verl and the CRPO rewards.

    Columns: data_source, prompt (the chat clinr1 trains on, --template), ability, reward_model
    (the gold letter) and extra_info (question, context, options as JSON), which
    clinr1.integrations.verl.compute_score reads back. The summary line goes to stderr.
    """
    options = dict(locals())  # the flags, by name, before any other local
    from clinr1.integrations.verl import verl_rows, write_parquet

    result = load_for_file(options, source, out, ".parquet")
    rows = verl_rows(result.items, template=template, split=split or "train")
    try:
        write_parquet(rows, out)
    except OSError as exc:
        raise error(f"cannot write {out}: {exc.strerror or exc}") from None
    typer.echo(f"wrote {len(rows)} rows to {out}")
