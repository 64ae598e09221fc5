"""The embedded-default pipeline on a CPU: tiny model -> cold-start SFT -> CRPO -> before/after.

``make demo`` runs :func:`run_demo`. It needs nothing from the network: the tiny model is built
locally and the data are the bundled demo items. The cold-start traces are written by a rule
(:func:`clinr1.traces.compact_trace`) from each item's own text, standing in for the
DeepSeek-R1 traces the paper distils, so the tiny model learns the ``<dx>``/``<conclusion>``
structure before CRPO.
The demo trains and evaluates on the same few items: it shows the machinery and the reward
curves, not generalisation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clinr1.traces import write_traces


def demo_recipe_path() -> Path:
    """The demo's recipe, shipped inside the package so ``clinr1 demo`` works from any folder."""
    return Path(__file__).parent / "assets" / "demo.yaml"


def reward_trend(
    records: list[dict[str, Any]], names: list[str], window: int = 2
) -> list[tuple[str, float, float]]:
    """(objective, mean over the first ``window`` logs, mean over the last ``window``) rows.

    ``reward`` is the weighted CRPO total; the others are TRL's ``rewards/<name>/mean``
    (:func:`clinr1.runlog.trend` over those keys).
    """
    from clinr1.runlog import trend

    keys = {
        name: name if name == "reward" else f"rewards/{name}/mean" for name in ["reward", *names]
    }
    found = trend(records, list(keys.values()), window)
    return [
        (name, found[key]["start"], found[key]["end"]) for name, key in keys.items() if key in found
    ]


def print_trend(rows: list[tuple[str, float, float]], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in ("objective", "start", "end", "change"):
        table.add_column(col, justify="left" if col == "objective" else "right")
    for name, start, end in rows:
        label = "CRPO total (max 12)" if name == "reward" else name
        table.add_row(label, f"{start:.3f}", f"{end:.3f}", f"{end - start:+.3f}")
    Console().print(table)


def _stage_done(folder: Path) -> bool:
    return (folder / "run.json").is_file()


def run_demo(out: str | Path = "outputs/demo", overrides: list[str] | None = None) -> dict:
    """Tiny model -> cold-start SFT -> eval -> CRPO -> eval -> compare, all on a CPU.

    Each stage that already finished in ``out`` is skipped, so an interrupted demo resumes.
    Returns the paths and the CRPO reward trend.
    """
    from clinr1.config import load_recipe
    from clinr1.data import DataSource, demo_items
    from clinr1.evaluate import compare_tables, render_markdown, run_eval
    from clinr1.runlog import read_metrics
    from clinr1.tiny import tiny_model_path

    out = Path(out)
    base = load_recipe(demo_recipe_path(), overrides or [])
    names = [r.name for r in base.rewards]
    print(f"1/6 tiny model: {tiny_model_path()}", flush=True)

    traces = write_traces(demo_items(), out / "traces.jsonl", compact=True)
    print(f"2/6 cold-start traces: {traces}", flush=True)

    sft_dir = out / "sft"
    if not _stage_done(sft_dir):
        from clinr1 import sft

        recipe = base.model_copy(deep=True)
        recipe.data.train = DataSource(name="jsonl", path=str(traces))
        recipe.train.output_dir = str(sft_dir)
        print("3/6 cold-start SFT", flush=True)
        sft.run(recipe)
    else:
        print(f"3/6 cold-start SFT: done already in {sft_dir}", flush=True)

    def evaluate(model_dir: Path, dest: Path) -> dict:
        model = base.model.model_copy(update={"name_or_path": str(model_dir)})
        return run_eval(
            model,
            benchmarks=base.eval.benchmarks,
            limit=base.eval.limit,
            max_new_tokens=base.eval.max_new_tokens,
            template=base.prompt.template,
            out=str(dest),
        )

    print("4/6 evaluate before CRPO (the SFT model)", flush=True)
    evaluate(sft_dir, out / "eval-before")

    crpo_dir = out / "crpo"
    if not _stage_done(crpo_dir):
        from clinr1 import train

        recipe = base.model_copy(deep=True)
        recipe.model.name_or_path = str(sft_dir)
        recipe.train.output_dir = str(crpo_dir)
        print("5/6 CRPO", flush=True)
        train.run(recipe)
    else:
        print(f"5/6 CRPO: done already in {crpo_dir}", flush=True)
    # 5 logs at each end: one log's sampled accuracy is too noisy to compare (RESULTS.md).
    trend = reward_trend(read_metrics(crpo_dir / "metrics.jsonl"), names, window=5)
    print_trend(trend, "CRPO rewards: first vs last 5 logs")

    print("6/6 evaluate after CRPO", flush=True)
    evaluate(crpo_dir, out / "eval-after")
    table = compare_tables(
        [str(out / "eval-before"), str(out / "eval-after")], labels=["before", "after"]
    )
    print(render_markdown(table), flush=True)
    return {"sft": str(sft_dir), "crpo": str(crpo_dir), "trend": trend}
