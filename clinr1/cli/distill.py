"""``clinr1 distill``: cold-start traces from a teacher model, kept when the CRPO rewards pass them.

Module-level imports are typer and the standard library only; the data loader, the HTTP client
and the rewards load inside the command.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from clinr1.cli.command import error
from clinr1.cli.options import HubOpt, PathOpt, SubsetOpt, load_source, matching


def distill(
    teacher_url: Annotated[
        str,
        typer.Option(
            help="OpenAI-compatible endpoint of the teacher: a base URL "
            "(https://api.deepseek.com/v1, http://127.0.0.1:8000/v1 for vLLM, :8080/v1 for "
            "llama.cpp, :11434/v1 for Ollama) or the full .../chat/completions address.",
            show_default=False,
        ),
    ],
    teacher_model: Annotated[
        str,
        typer.Option(
            help="Model name sent to the teacher (e.g. deepseek-reasoner); also stored with "
            "each trace as 'teacher'.",
            show_default=False,
        ),
    ],
    data: Annotated[
        str,
        typer.Option(
            help="Items to distil: an adapter (medqa, medmcqa, medxpertqa, pubmedqa, "
            "mmlu-medical, file, jsonl, csv, unified, demo).",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Traces JSONL to append to (what `clinr1 sft` reads as data.train.path). "
            "OUT.log records every finished item; re-running the same command skips them.",
            show_default=False,
        ),
    ],
    path: PathOpt = None,
    hub: HubOpt = None,
    subset: SubsetOpt = None,
    split: Annotated[
        str | None,
        typer.Option(
            help="Split, slicing allowed: train[:50%] for the cold start, leaving train[50%:] "
            "to CRPO (recipes/crpo.yaml). Default: the adapter's."
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(help="Only the first N items of the split (done ones included).", min=1),
    ] = None,
    samples: Annotated[
        int,
        typer.Option("--samples", "-k", help="Traces asked per item, at most (K).", min=1),
    ] = 4,
    keep: Annotated[
        str,
        typer.Option(
            help="first: stop asking at the first trace that passes (cheapest); best: ask K, "
            "keep the highest CRPO total; all: ask K, keep every one that passes."
        ),
    ] = "first",
    template: Annotated[
        str,
        typer.Option(
            help="Prompt template the teacher is asked with and scored by: crpo, r1 "
            "or plain (use the one the SFT recipe trains with)."
        ),
    ] = "crpo",
    min_faithfulness: Annotated[
        float,
        typer.Option(help="Reject a correct trace whose faithfulness is below F.", min=0, max=1),
    ] = 0.5,
    min_comprehensiveness: Annotated[
        float,
        typer.Option(
            help="Reject a correct trace whose comprehensiveness is below C.", min=0, max=1
        ),
    ] = 0.5,
    temperature: Annotated[
        float, typer.Option(help="Sampling temperature of the teacher.", min=0.0)
    ] = 0.6,
    top_p: Annotated[
        float | None,
        typer.Option(help="Nucleus sampling mass (default: the server's).", min=0.0, max=1.0),
    ] = None,
    max_tokens: Annotated[
        int | None,
        typer.Option(
            help="Most tokens per trace (default: the server's); a truncated trace has no "
            "answer and is rejected.",
            min=1,
        ),
    ] = None,
    n_per_request: Annotated[
        int,
        typer.Option(
            help="Traces per request (the API's n). Servers that support it (OpenAI, vLLM) "
            "bill the prompt once; others return one, and the rest are asked again.",
            min=1,
        ),
    ] = 1,
    system: Annotated[
        bool,
        typer.Option(
            "--system/--no-system",
            help="Send the template's instructions as a system message; --no-system puts them "
            "at the top of the user turn (DeepSeek-R1's advice).",
        ),
    ] = True,
    strip_think: Annotated[
        bool,
        typer.Option(
            "--strip-think/--keep-think",
            help="Drop a leading <think>...</think> block from each reply before scoring and "
            "saving (never for the r1 template, whose format has it).",
        ),
    ] = True,
    api_key_env: Annotated[
        str,
        typer.Option(
            help="Environment variable holding the teacher's API key; sent as a Bearer token, "
            "never printed or written. Unset: no key (local servers)."
        ),
    ] = "OPENAI_API_KEY",
    workers: Annotated[
        int, typer.Option(help="Items asked concurrently (requests in flight at most).", min=1)
    ] = 8,
    timeout: Annotated[
        float, typer.Option(help="Seconds before one request times out.", min=0.1)
    ] = 300.0,
    retries: Annotated[
        int,
        typer.Option(
            help="Retries of a request on rate limits (429), server errors (5xx), timeouts "
            "and garbled replies, before the item counts as failed.",
            min=0,
        ),
    ] = 5,
    backoff: Annotated[
        float,
        typer.Option(
            help="First wait before a retry, in seconds; doubled each time, capped at 30 s "
            "(a server's Retry-After wins).",
            min=0.0,
        ),
    ] = 2.0,
    stop_after_failures: Annotated[
        int,
        typer.Option(
            help="Stop the run after this many failed items in a row (the teacher is down); "
            "0: never.",
            min=0,
        ),
    ] = 10,
    json_: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON on stdout.")
    ] = False,
) -> None:
    """Distil cold-start SFT traces from a teacher model, keeping only the ones the CRPO \
rewards verify.

    Each item is asked with the training prompt for up to K traces; a trace is kept when its \
boxed answer is the gold one and its faithfulness and comprehensiveness reach the thresholds. \
Kept traces are appended to OUT as each item finishes. Re-running the same command skips the \
items already finished (kept or all rejected); failed items are asked again. A summary (items, \
traces asked, kept, rejected by check, failed, the first error, tokens) ends the run on stderr; \
the exit code is 1 when no item got an answer. See docs/distill.md.
    """
    options = dict(locals())  # the flags, by name, before any other local
    from clinr1.distill import DistillError, DistillSettings, run_distill, safe_url

    named = {"url": teacher_url, "model": teacher_model, "api_key_env": api_key_env or None}
    settings = DistillSettings(**{**matching(DistillSettings, options), **named})
    try:
        settings.check()
    except DistillError as e:
        raise error(str(e)) from None
    loaded = load_source(options, key="--data", prefix="--", name=data)
    typer.echo(loaded.summary(), err=True)
    if settings.api_key_env and not os.environ.get(settings.api_key_env):
        typer.echo(f"note: ${settings.api_key_env} is not set; asking without an API key", err=True)
    typer.echo(
        f"teacher {teacher_model} at {safe_url(teacher_url)}: up to {samples} traces per item, "
        f"keep {keep}, {workers} in flight",
        err=True,
    )

    from clinr1.console import Progress

    progress = Progress("distilling", None, unit="items", every=30)
    kept = 0

    def advance(result) -> None:
        nonlocal kept
        kept += bool(result.records)
        progress.update(progress.done + 1, note=f"{kept} kept")

    try:
        with progress:
            summary = run_distill(
                loaded.items,
                out,
                settings,
                on_start=progress.set_total,
                on_result=advance,
            )
    except DistillError as e:
        raise error(str(e)) from None

    for line in summary.lines():
        typer.echo(line, err=True)
    if json_:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
    if summary.interrupted:
        raise typer.Exit(130)
    if summary.all_failed:
        raise error(
            f"the teacher answered none of the {summary.tried} items tried (first error "
            "above): check --teacher-url, --teacher-model and the server, then re-run",
            1,
        )
    if summary.stopped:
        raise typer.Exit(1)
