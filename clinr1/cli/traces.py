"""``clinr1 data traces``: cold-start SFT traces for any dataset, without a teacher.

Module-level imports are typer and the stdlib only; the loader and the rewards load inside the
command.
"""

from __future__ import annotations

import json
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
    load_for_file,
)


def traces(
    source: SourceArg,
    out: Annotated[
        Path, typer.Option("--out", help="JSONL file to write, e.g. data/traces.jsonl.")
    ],
    path: PathOpt = None,
    hub: HubOpt = None,
    subset: SubsetOpt = None,
    split: Annotated[str | None, typer.Option("--split", help="Split, e.g. train[:50%].")] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most this many items (default: all).")
    ] = None,
    wordings: Annotated[
        int, typer.Option("--wordings", min=1, max=8, help="Traces per item, each worded anew.")
    ] = 1,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the first wording.")] = 0,
    brief: Annotated[
        bool,
        typer.Option("--brief", help="Shorter traces (~30 % fewer tokens), for CPU budgets."),
    ] = False,
    cop_base: CopBaseOpt = None,
    strict: StrictOpt = False,
    column: ColumnOpt = None,
    answer_format: AnswerFormatOpt = None,
) -> None:
    """Write rule-based cold-start traces for a dataset, for `clinr1 sft` (no teacher needed).

    Each trace quotes the case's own findings, gives every option a reason and a verdict (the
    dataset's explanation for the answer where it has one), checks the answer and cites a
    finding in the conclusion, in one of several formats and wordings. Only traces that the CRPO
    rewards verify are kept (correct box, faithfulness and comprehensiveness >= 0.6). A teacher
    writes better reasons: see `clinr1 distill`.
    """
    options = dict(locals())  # the flags, by name, before any other local
    from clinr1.traces import write_traces

    result = load_for_file(options, source, out, ".jsonl")
    try:
        write_traces(result.items, out, seed=seed, wordings=wordings, brief=brief)
    except OSError as exc:
        raise error(f"cannot write {out}: {exc.strerror or exc}") from None
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line]
    kept = len({row["id"] for row in rows})
    missing = len(result.items) - kept
    note = f" ({missing} with no trace the rewards verify)" if missing else ""
    typer.echo(f"wrote {len(rows)} traces for {kept} of {len(result.items)} items to {out}{note}")
