"""``clinr1 bench``: seconds, tokens/s and peak memory of a CRPO step, Unsloth vs TRL + PEFT."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from clinr1.cli.command import error
from clinr1.cli.options import SetOption, resolve_recipe


def bench(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML, e.g. recipes/crpo-t4.yaml.")],
    engines: Annotated[
        str, typer.Option("--engines", help="Engines to compare, comma-separated.")
    ] = "unsloth,hf",
    steps: Annotated[
        int, typer.Option("--steps", min=1, help="Measured steps per engine (median taken).")
    ] = 3,
    warmup: Annotated[
        int, typer.Option("--warmup", min=0, help="Steps run first and not measured.")
    ] = 1,
    random_init: Annotated[
        bool,
        typer.Option(
            "--random-init",
            help="Build the recipe's model architecture with random weights (no download). "
            "Completions then run to their maximum length.",
        ),
    ] = False,
    set_: SetOption = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the full report here as JSON.")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=1, help="Seconds allowed per engine; a slower one fails."),
    ] = None,
) -> None:
    """Measure a CRPO step with each engine: median seconds per step, generation and training
    tokens/s, peak GPU memory (or peak RSS on a CPU), and the ratios against hf.

    Each engine trains the recipe for warm-up + steps optimizer steps in its own process, one
    after the other on this machine (import unsloth patches transformers and TRL process-wide,
    so a shared process would not be a clean baseline). No checkpoint is written. Definitions:
    docs/bench.md. Exit code 1 when an engine failed (the others are still reported).
    """
    names = [e.strip() for e in engines.split(",") if e.strip()]
    resolved = resolve_recipe(recipe, set_)

    from clinr1.bench import BenchError, format_report, run_bench
    from clinr1.runlog import write_json_atomic

    argv = [str(recipe), "--engines", ",".join(names), "--steps", str(steps)]
    argv += ["--warmup", str(warmup), *(["--random-init"] if random_init else [])]
    for text in set_ or []:
        argv += ["--set", text]
    argv += [*(["--json", str(json_out)] if json_out else [])]
    argv += [*(["--timeout", f"{timeout:g}"] if timeout else [])]
    command = "clinr1 bench " + " ".join(shlex.quote(a) for a in argv)
    try:
        report = run_bench(
            resolved,
            recipe,
            set_ or [],
            engines=names,
            steps=steps,
            warmup=warmup,
            random_init=random_init,
            timeout_s=timeout,
            command=command,
            echo=typer.echo,
        )
    except BenchError as e:
        raise error(f"{e}") from None
    typer.echo("")
    typer.echo(format_report(report))
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(json_out, report)
        typer.echo(f"report: {json_out}")
    if not all(r.get("ok") for r in report["engines"].values()):
        raise typer.Exit(1)
