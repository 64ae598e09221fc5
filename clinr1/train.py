"""CRPO/GRPO training: recipe -> data -> model -> rewards -> TRL GRPOTrainer -> adapter + run.json.

``run(recipe)`` reads top to bottom as the pipeline it is. Resuming is on by default: a run that
was stopped continues from the last ``checkpoint-N`` in ``train.output_dir`` and ends at the same
step with the same config.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clinr1.config import Recipe
from clinr1.device import device_settings
from clinr1.runlog import (
    RunLogger,
    changed_settings,
    completed_step,
    finish_complete,
    fit,
    last_checkpoint,
    saved_recipe,
)


class TrainError(Exception):
    """A user-fixable training problem; the message is one line."""


def items_to_dataset(items: list, template: str):
    """Items as a TRL conversational dataset: ``prompt`` messages + the columns rewards read.

    ``options`` travels as JSON text: rows have different option letters (A-D, A-E, A-J) and
    Arrow would otherwise pad the struct with nulls.
    """
    from datasets import Dataset

    from clinr1.prompts import render_messages

    rows = [
        {
            "prompt": render_messages(item, template),
            "id": item.id,
            "question": item.question,
            "options": json.dumps(item.options),
            "answer": item.answer,
            "context": item.context or "",
        }
        for item in items
    ]
    return Dataset.from_list(rows)


def load_train_items(recipe: Recipe) -> list:
    from clinr1.data import load_items

    if recipe.data.train is None:
        raise TrainError("data.train is missing: name the training set (e.g. name: medqa)")
    result = load_items(recipe.data.train, key="data.train")
    print(result.summary(), flush=True)
    if not result.items:
        raise TrainError(f"data.train ({recipe.data.train.name}) gave no usable items")
    return result.items


def grpo_trainer(recipe: Recipe, loaded: Any, *, callbacks: list[Any], **args: Any) -> Any:
    """TRL's ``GRPOTrainer`` for ``recipe`` on a loaded model: what ``train`` and ``bench`` run.

    The recipe's training items as prompts, its rewards and weights, its ``grpo:`` section as
    ``GRPOConfig``; ``args`` are further ``GRPOConfig`` values (the CPU ones, bench's schedule).
    Import it after the model is loaded: the Unsloth engine patches TRL when it loads.
    """
    from trl import GRPOTrainer

    from clinr1.config import build_trl_config
    from clinr1.rewards import build_rewards

    dataset = items_to_dataset(load_train_items(recipe), recipe.prompt.template)
    reward_funcs, weights = build_rewards(recipe.rewards, recipe.prompt.template)
    config = build_trl_config(recipe, "grpo", reward_weights=weights, disable_tqdm=True, **args)
    return GRPOTrainer(
        model=loaded.model,
        reward_funcs=reward_funcs,
        args=config,
        train_dataset=dataset,
        processing_class=loaded.tokenizer,
        callbacks=callbacks,
    )


@dataclass
class Start:
    """Where a run starts: its folder, the checkpoint it resumes from, the CPU overrides, the
    settings changed since the run in the folder, and the record when nothing is left to train."""

    kind: str
    out: Path
    checkpoint: Path | None
    started: float
    cpu_kwargs: dict[str, Any] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)
    complete: dict[str, Any] | None = None

    def fit(self, trainer: Any, recipe: Recipe, engine: str) -> dict[str, Any]:
        """Train from here, then save weights, tokenizer and ``run.json`` (:func:`runlog.fit`)."""
        return fit(
            trainer,
            recipe,
            kind=self.kind,
            engine=engine,
            checkpoint=self.checkpoint,
            started=self.started,
            changed=self.changed,
        )


def resume_plan(
    recipe: Recipe, kind: str, resume: bool | None
) -> tuple[Path | None, list[str], int | None]:
    """(checkpoint to resume from, settings changed since that run, its step if it is complete).

    Reads files only, so ``--dry-run`` can show it.
    """
    resume = recipe.train.resume if resume is None else resume
    checkpoint = last_checkpoint(recipe.train.output_dir) if resume else None
    if checkpoint is None:
        return None, [], None
    previous = saved_recipe(Path(recipe.train.output_dir))
    changed = changed_settings(previous, recipe.model_dump(mode="json"), kind) if previous else []
    return checkpoint, changed, completed_step(checkpoint, recipe, kind, previous)


def prepare(recipe: Recipe, kind: str, resume: bool | None, allow_changed: bool = False) -> Start:
    """The output folder, the checkpoint to resume from (or ``None``) and the CPU overrides.

    Resuming with changed training settings is refused unless ``allow_changed``; a run already
    at its last step comes back complete (``Start.complete``) without training. GPU-only settings
    are refused here, before any model loads.
    """
    started = time.time()
    out = Path(recipe.train.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint, changed, done = resume_plan(recipe, kind, resume)
    if changed and not allow_changed:
        shown = "; ".join(changed[:6]) + (
            f"; and {len(changed) - 6} more" if len(changed) > 6 else ""
        )
        raise TrainError(
            f"{out} holds a run with other settings ({shown}): resume with the same settings, "
            "start over with --no-resume (or another train.output_dir), or pass "
            "--allow-changed-settings to resume anyway"
        )
    if checkpoint is not None and done is not None:
        record = finish_complete(out, checkpoint, recipe, kind=kind, started=started)
        return Start(kind, out, checkpoint, started, changed=changed, complete=record)
    cpu_kwargs = device_settings(recipe.model, getattr(recipe, kind), kind)
    return Start(kind, out, checkpoint, started, cpu_kwargs, changed)


def run(
    recipe: Recipe, *, resume: bool | None = None, allow_changed: bool = False
) -> dict[str, Any]:
    """Train ``recipe`` with GRPO and the recipe's rewards; return the final run record.

    A run whose last step is already trained returns its record (``already_complete``) at once.
    """
    from clinr1.engine import load_model

    start = prepare(recipe, "grpo", resume, allow_changed)
    if start.complete is not None:
        return start.complete

    # 1. model first: the Unsloth engine must patch TRL/transformers before they are imported.
    loaded = load_model(recipe.model, trainable=True, seed=recipe.train.seed)

    # 2. data, rewards, config, trainer
    logger = RunLogger(start.out / "metrics.jsonl", [r.name for r in recipe.rewards])
    trainer = grpo_trainer(recipe, loaded, callbacks=[logger], **start.cpu_kwargs)

    # 3. train, then save: adapter + tokenizer + run.json
    return start.fit(trainer, recipe, loaded.engine)
