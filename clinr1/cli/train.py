"""``clinr1 train`` (CRPO/GRPO) and ``clinr1 sft`` (cold start): recipe in, adapter out."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clinr1.cli.command import error, fail
from clinr1.cli.options import SetOption, resolve_recipe

if TYPE_CHECKING:
    from clinr1.config import Recipe

ResumeOption = Annotated[
    bool | None,
    typer.Option(
        "--resume/--no-resume",
        help="Continue from the last checkpoint in train.output_dir (default: train.resume).",
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Validate and print the plan; load no model.")
]
AllowChangedOption = Annotated[
    bool,
    typer.Option(
        "--allow-changed-settings",
        help="Resume even though training settings (learning rate, G, rewards, model, data) "
        "differ from the run in train.output_dir.",
    ),
]


def plan(recipe: Recipe, kind: str, resume: bool | None = None) -> list[str]:
    """What a run would do, line by line, without loading anything heavy."""
    from clinr1.train import resume_plan

    m, d = recipe.model, recipe.data.train
    section = recipe.grpo if kind == "grpo" else recipe.sft
    lines = [
        f"kind:       {kind}",
        f"model:      {m.name_or_path} (engine {m.engine}, 4-bit {m.load_in_4bit}, "
        f"max_seq_length {m.max_seq_length}, "
        + (f"LoRA r={m.lora.r} alpha={m.lora.alpha})" if m.lora else "full fine-tune)"),
        f"start from: {m.adapter or 'base model'}",
        "data:       "
        + (
            f"{d.name} {d.path or d.hub or ''} split={d.split or 'default'} limit={d.limit}"
            if d
            else "none"
        ),
        f"template:   {recipe.prompt.template}",
    ]
    if kind == "grpo":
        rewards = ", ".join(f"{r.name}×{r.weight:g}" for r in recipe.rewards)
        lines.append(f"rewards:    {rewards} (max {sum(r.weight for r in recipe.rewards):g})")
    settings = ", ".join(f"{k}={v}" for k, v in section.items()) or "TRL defaults"
    lines.append(f"{kind}:       {settings}")
    ckpt, changed, done = resume_plan(recipe, kind, resume)
    where = f"resume from {ckpt}" if ckpt else "start from step 0"
    if ckpt and done is not None:
        where = f"complete at step {done}: nothing to train"
    lines.append(f"output:     {recipe.train.output_dir} ({where})")
    lines += [f"changed:    {line}" for line in changed]
    return lines


def _run(
    kind: str,
    recipe_path: Path,
    set_: list[str] | None,
    resume,
    dry_run: bool,
    allow_changed: bool = False,
) -> None:
    recipe = resolve_recipe(recipe_path, set_)
    for line in plan(recipe, kind, resume):
        typer.echo(line)
    if dry_run:
        return
    from clinr1.data import DataError
    from clinr1.engine import EngineError
    from clinr1.sft import SFTDataError
    from clinr1.train import TrainError

    try:
        if kind == "grpo":
            from clinr1.train import run
        else:
            from clinr1.sft import run
        record = run(recipe, resume=resume, allow_changed=allow_changed)
    except (EngineError, TrainError, DataError, SFTDataError, ValueError) as e:
        raise error(f"{str(e).splitlines()[0]}") from None
    except KeyboardInterrupt:
        raise fail(interrupted(recipe, kind), 130) from None
    except RuntimeError as e:
        if "out of memory" not in str(e).lower():
            raise
        raise error(
            "out of memory; try recipes/crpo-t4.yaml or lower grpo.num_generations / "
            "grpo.max_completion_length (checkpoints so far are kept in train.output_dir)",
            1,
        ) from None
    if record.get("already_complete"):
        key = f"{kind}.max_steps"
        saved = (
            " (its weights saved from the last checkpoint)"
            if record.get("saved_from_checkpoint")
            else ""
        )
        typer.echo(
            f"complete: step {record['global_step']} of {record['max_steps']} is already trained "
            f"in {recipe.train.output_dir}{saved}; nothing to train. Raise {key} to train "
            "further, or use --no-resume to start over."
        )
        return
    for line in summary_lines(record, recipe.train.output_dir):
        typer.echo(line)


def summary_lines(record: dict[str, Any], out: str | Path) -> list[str]:
    """What ``clinr1 train``/``sft`` prints at the end: steps, time, rewards, memory, files."""
    from clinr1.runlog import checkpoint_state, last_checkpoint

    out = Path(out)
    steps = record["global_step"]
    resumed = record.get("resumed_from")
    first = int(checkpoint_state(Path(resumed)).get("global_step") or 0) if resumed else 0
    seconds = float(record.get("wall_time_s") or 0)
    made = steps - first
    pace = f", {seconds / made:.1f} s/step" if made > 0 else ""
    since = f" (resumed at step {first})" if first else ""
    lines = [f"done: step {steps} of {record['max_steps']}{since} in {seconds:.0f}s{pace}"]
    rows = record.get("trend") or {}
    if rows:
        width = max(len(_label(k)) for k in rows)
        n = max(int(v.get("logs", 0)) for v in rows.values())
        window = max(1, min(5, n // 4))
        lines.append(
            f"  {'':<{width}}  {'start':>8}  {'end':>8}  {'change':>8}"
            + (f"   (mean of the first / last {window} logs)" if window > 1 else "")
        )
        for key, v in rows.items():
            lines.append(
                f"  {_label(key):<{width}}  {v['start']:>8.3f}  {v['end']:>8.3f}  "
                f"{v['end'] - v['start']:>+8.3f}"
            )
    memory = record.get("memory") or {}
    parts = [f"{memory.get('peak_rss_gib', 0):.2f} GiB RSS"]
    if "peak_gpu_allocated_gib" in memory:
        parts.append(
            f"GPU {memory['peak_gpu_allocated_gib']:.2f} GiB allocated, "
            f"{memory.get('peak_gpu_reserved_gib', 0):.2f} GiB reserved"
        )
    lines.append("peak memory: " + "; ".join(parts))
    params = record.get("parameters")
    if params and params.get("total"):
        share = 100 * params["trainable"] / params["total"]
        lines.append(
            f"trainable parameters: {params['trainable']:,} of {params['total']:,} ({share:.2f}%)"
        )
    weights = "adapter" if (out / "adapter_config.json").is_file() else "weights"
    lines.append(f"{weights}, tokenizer, run.json, recipe.yaml, metrics.jsonl: {out}")
    last = last_checkpoint(out)
    if last is not None:
        lines.append(f"last checkpoint: {last}")
    return lines


def _label(key: str) -> str:
    if key == "reward":
        return "reward (weighted total)"
    return key.removeprefix("rewards/").removesuffix("/mean")


def interrupted(recipe: Recipe, kind: str) -> str:
    """What a Ctrl-C kept and how to go on."""
    from clinr1.runlog import checkpoint_state, last_checkpoint

    last = last_checkpoint(recipe.train.output_dir)
    if last is None:
        every = getattr(recipe, kind).get("save_steps", "save_steps")
        return (
            f"interrupted before the first checkpoint (one every {every} steps): nothing is "
            "kept; run the same command again to start over"
        )
    step = checkpoint_state(last).get("global_step", "?")
    return (
        f"interrupted: {last} (step {step}) is kept; run the same command again to resume from it"
    )


def train(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML, e.g. recipes/crpo.yaml.")],
    set_: SetOption = None,
    resume: ResumeOption = None,
    dry_run: DryRunOption = False,
    allow_changed_settings: AllowChangedOption = False,
) -> None:
    """Train with CRPO (or plain GRPO) through TRL's GRPOTrainer on the recipe's engine.

    Writes checkpoints, metrics.jsonl, the LoRA adapter, the tokenizer and run.json to
    train.output_dir. Run again, it resumes from the last checkpoint; a finished run is not
    trained again.
    """
    _run("grpo", recipe, set_, resume, dry_run, allow_changed_settings)


def sft(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML, e.g. recipes/sft-coldstart.yaml.")],
    set_: SetOption = None,
    resume: ResumeOption = None,
    dry_run: DryRunOption = False,
    allow_changed_settings: AllowChangedOption = False,
) -> None:
    """Cold-start supervised fine-tuning on reasoning traces (JSONL: item fields + completion)."""
    _run("sft", recipe, set_, resume, dry_run, allow_changed_settings)
