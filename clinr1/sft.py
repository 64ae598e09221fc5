"""The paper's cold start: supervised fine-tuning on reasoning traces before CRPO.

Traces are JSONL, one item per line in clinr1's schema plus a ``completion`` (the teacher's
answer in the recipe's template). Each becomes a conversational prompt/completion pair with the
same prompt as CRPO, and TRL's ``SFTTrainer`` trains on the completion tokens only, so CRPO
starts from a model that already writes ``<dx>`` / ``<conclusion>`` / ``\\boxed{}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clinr1.config import Recipe
from clinr1.runlog import RunLogger


class SFTDataError(Exception):
    """The traces file is missing or unusable; one line."""


def load_traces(path: str | Path):
    """Read a traces JSONL: (rows, items, unreadable 1-based line numbers skipped).

    Lines that are not readable JSON are skipped and reported, as everywhere data is read.
    """
    from clinr1.data import DataError
    from clinr1.data.loading import check_local_file, read_table
    from clinr1.items import Item

    if not Path(path).exists():
        raise SFTDataError(f"traces file not found: {path} (recipe: data.train.path)")
    try:
        raw, bad_lines, _ = read_table(check_local_file(path, "data.train.path"))
    except DataError as e:
        raise SFTDataError(str(e)) from None
    if "completion" not in raw.column_names:
        raise SFTDataError(f"{path}: each line needs a 'completion' field (the trace)")
    return raw, [Item.from_dict(row) for row in raw], bad_lines


def traces_to_dataset(path: str | Path, template: str):
    """The traces as conversational prompt/completion pairs; one summary line is printed."""
    from datasets import Dataset

    from clinr1.data.loading import line_list
    from clinr1.prompts import render_messages

    raw, items, bad_lines = load_traces(path)
    rows = []
    for item, completion in zip(items, raw["completion"], strict=True):
        if not completion or not item.question:
            continue
        rows.append(
            {
                "prompt": render_messages(item, template),
                "completion": [{"role": "assistant", "content": completion}],
            }
        )
    if not rows:
        raise SFTDataError(f"{path}: no usable traces (need question, options and completion)")
    skipped = len(items) - len(rows)
    line = f"traces {path}: {len(rows)} traces, {skipped + len(bad_lines)} bad rows skipped"
    if bad_lines:
        line += f"; unreadable {line_list(bad_lines)}"
    print(line, flush=True)
    return Dataset.from_list(rows)


def run(
    recipe: Recipe, *, resume: bool | None = None, allow_changed: bool = False
) -> dict[str, Any]:
    """Supervised fine-tuning of the recipe's model (LoRA) on ``data.train`` traces.

    A run whose last step is already trained returns its record (``already_complete``) at once.
    """
    from clinr1.engine import load_model
    from clinr1.train import TrainError, prepare

    if recipe.data.train is None or not recipe.data.train.path:
        raise TrainError("data.train.path is missing: point it at a traces JSONL")
    start = prepare(recipe, "sft", resume, allow_changed)
    if start.complete is not None:
        return start.complete
    loaded = load_model(recipe.model, trainable=True, seed=recipe.train.seed)

    from trl import SFTTrainer

    from clinr1.config import build_trl_config

    dataset = traces_to_dataset(recipe.data.train.path, recipe.prompt.template)
    if recipe.data.train.limit:
        dataset = dataset.select(range(min(recipe.data.train.limit, len(dataset))))
    args = build_trl_config(recipe, "sft", disable_tqdm=True, **start.cpu_kwargs)
    trainer = SFTTrainer(
        model=loaded.model,
        args=args,
        train_dataset=dataset,
        processing_class=loaded.tokenizer,
        callbacks=[RunLogger(start.out / "metrics.jsonl", [])],
    )
    return start.fit(trainer, recipe, loaded.engine)
