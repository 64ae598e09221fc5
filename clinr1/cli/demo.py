"""``clinr1 demo``: the embedded-default pipeline (tiny model, SFT, CRPO, before/after) on a CPU."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from clinr1.cli.command import fail
from clinr1.cli.options import SetOption, recipe_failure


def demo(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for every stage's output.")
    ] = Path("outputs/demo"),
    set_: SetOption = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Delete OUT first instead of resuming finished stages.")
    ] = False,
) -> None:
    """Run the whole method offline: build the tiny model, cold-start SFT on rule-written traces,
    CRPO, and print the per-objective rewards and the before/after evaluation.

    Overrides apply to the demo recipe (clinr1/assets/demo.yaml), e.g. --set grpo.max_steps=20.
    """
    from clinr1.config import RecipeError
    from clinr1.demo import run_demo

    if fresh and out.exists():
        shutil.rmtree(out)
    try:
        run_demo(out, set_ or [])
    except RecipeError as e:
        raise recipe_failure(e) from None
    except KeyboardInterrupt:
        raise fail(
            f"interrupted: the stages finished in {out} are kept; run `clinr1 demo` again to "
            "resume from them",
            130,
        ) from None
