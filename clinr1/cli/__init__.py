"""The ``clinr1`` command line: one Typer app, one module per command group.

Only typer and the standard library are imported here; each command imports the heavy stack
(torch, TRL, Unsloth) inside its body, so ``clinr1 --help`` starts in a fraction of a second.
"""

from __future__ import annotations

import logging
from importlib import metadata
from typing import Annotated

import typer

from clinr1.cli.bench import bench
from clinr1.cli.chat import chat
from clinr1.cli.command import Command
from clinr1.cli.data import data_app
from clinr1.cli.demo import demo
from clinr1.cli.distill import distill
from clinr1.cli.evaluate import compare, eval_
from clinr1.cli.export import export
from clinr1.cli.recipe import validate
from clinr1.cli.score import score
from clinr1.cli.traces import traces
from clinr1.cli.train import sft, train
from clinr1.cli.verl import export_verl
from clinr1.cli.version import version

# bitsandbytes warns on every CPU import that an optional kernel package is missing; noise here.
logging.getLogger("bitsandbytes").setLevel(logging.ERROR)

app = typer.Typer(
    name="clinr1",
    help="Clinical-R1 on one GPU: CRPO rewards, training, evaluation and chat for medical QA.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: rich's option table cuts names and defaults with "…" and wraps descriptions
    # to a few words at 80 columns.
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"clinr1 {metadata.version('clinr1')}")
        raise typer.Exit()


@app.callback()
def options(
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Show the libraries' own progress bars, warnings and logs (transformers, "
            "datasets, TRL, Unsloth); off by default.",
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print clinr1's version and exit (`clinr1 version` lists the whole stack).",
        ),
    ] = False,
) -> None:
    """Clinical-R1 on one GPU: CRPO rewards, training, evaluation and chat for medical QA."""
    from clinr1.console import quiet_libraries

    quiet_libraries(verbose)


# One line each in `clinr1 --help` (the docstrings' first sentences are cut at 80 columns).
app.command(cls=Command, short_help="Versions of clinr1 and its stack; CUDA yes or no.")(version)
app.command(cls=Command, short_help="Check a recipe and print it resolved.")(validate)
app.command(cls=Command, short_help="CRPO or GRPO training from a recipe.")(train)
app.command(cls=Command, short_help="Cold-start SFT on reasoning traces.")(sft)
app.command(cls=Command, short_help="The CRPO rewards of completions.")(score)
app.command("eval", cls=Command, short_help="Evaluate a model on medical QA, resumably.")(eval_)
app.command(cls=Command, short_help="Compare evaluation runs, with the paper's numbers.")(compare)
app.command(cls=Command, short_help="Talk to a model, in the terminal or --web.")(chat)
app.command(cls=Command, short_help="Ship an adapter: LoRA, merged, GGUF, hub.")(export)
app.command(cls=Command, short_help="Cold-start traces from a teacher, verified.")(distill)
app.command(cls=Command, short_help="The whole method offline on a CPU.")(demo)
app.command(cls=Command, short_help="Seconds per CRPO step and memory, per engine.")(bench)
data_app.command("export-verl", cls=Command, short_help="A dataset as verl's RL parquet.")(
    export_verl
)
data_app.command(cls=Command, short_help="Cold-start SFT traces without a teacher, verified.")(
    traces
)
app.add_typer(data_app, name="data", short_help="Datasets in clinr1's item schema.")

__all__ = ["app"]
