"""CRPO/GRPO training: recipe -> data -> model -> rewards -> TRL GRPOTrainer -> adapter + run.json.

``run(recipe)`` reads top to bottom as the pipeline it is. Resuming is on by default: a run that
was stopped continues from the last ``checkpoint-N`` in ``train.output_dir`` and ends at the same
step with the same config.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from clinr1.config import Recipe
from clinr1.runlog import RunLogger, fit, last_checkpoint


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
    result = load_items(recipe.data.train)
    print(result.summary(), flush=True)
    if not result.items:
        raise TrainError(f"data.train ({recipe.data.train.name}) gave no usable items")
    return result.items


def device_kwargs(recipe: Recipe, kind: str = "grpo") -> dict[str, Any]:
    """On a CPU: force ``use_cpu`` and fp32, or refuse a GPU-only setting with what to change."""
    from clinr1.engine import cuda_available

    if cuda_available():
        return {}
    section = getattr(recipe, kind)
    for key in ("bf16", "fp16", "use_vllm", "gradient_checkpointing"):
        if section.get(key):
            raise TrainError(
                f"{kind}.{key}=true needs a CUDA GPU; on this machine set "
                f"--set {kind}.{key}=false or use recipes/smoke.yaml"
            )
    # TRL's configs default to bf16=True, which a CPU refuses.
    return {"use_cpu": True, "bf16": False, "fp16": False}


def prepare(
    recipe: Recipe, kind: str, resume: bool | None
) -> tuple[Path, Path | None, dict[str, Any]]:
    """The output folder, the checkpoint to resume from (or ``None``) and the CPU overrides.

    GPU-only settings are refused here, before any model loads.
    """
    from clinr1.engine import check_device

    out = Path(recipe.train.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    resume = recipe.train.resume if resume is None else resume
    checkpoint = last_checkpoint(out) if resume else None
    check_device(recipe.model)
    return out, checkpoint, device_kwargs(recipe, kind)


def run(recipe: Recipe, *, resume: bool | None = None) -> dict[str, Any]:
    """Train ``recipe`` with GRPO and the recipe's rewards; return the final run record."""
    from clinr1.engine import load_model

    started = time.time()
    out, checkpoint, cpu_kwargs = prepare(recipe, "grpo", resume)

    # 1. model first: the Unsloth engine must patch TRL/transformers before they are imported.
    loaded = load_model(recipe.model, trainable=True, seed=recipe.train.seed)

    # 2. data, rewards, config
    from trl import GRPOTrainer

    from clinr1.config import build_trl_config
    from clinr1.rewards import build_rewards

    dataset = items_to_dataset(load_train_items(recipe), recipe.prompt.template)
    reward_funcs, weights = build_rewards(recipe.rewards, recipe.prompt.template)
    args = build_trl_config(recipe, "grpo", reward_weights=weights, disable_tqdm=True, **cpu_kwargs)

    # 3. train
    logger = RunLogger(out / "metrics.jsonl", [r.name for r in recipe.rewards])
    trainer = GRPOTrainer(
        model=loaded.model,
        reward_funcs=reward_funcs,
        args=args,
        train_dataset=dataset,
        processing_class=loaded.tokenizer,
        callbacks=[logger],
    )

    # 4. train, then save: adapter + tokenizer + run.json
    return fit(
        trainer,
        recipe,
        kind="grpo",
        engine=loaded.engine,
        checkpoint=checkpoint,
        started=started,
    )
