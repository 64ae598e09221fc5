"""What a run leaves behind: ``recipe.yaml`` when it starts, ``metrics.jsonl`` as it goes,
checkpoints, and ``run.json`` at the end; and what a second run in the same folder does with them.

A run started again in the same ``train.output_dir`` resumes from the last complete checkpoint:

* a run that already reached its last step is complete: nothing is trained again
  (:func:`completed_step`);
* ``metrics.jsonl`` is cut back to the checkpoint's step, so the steps trained again after a kill
  are logged once (:func:`truncate_metrics`);
* the settings must be those of the run in the folder (``recipe.yaml``): a changed learning rate,
  group size, reward, model or data is refused with the keys that differ unless asked for
  (:func:`changed_settings`); a higher ``max_steps`` (or more epochs) is how to train further.

Nothing here imports transformers at module level: the Unsloth engine must be imported first.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from clinr1.config import Recipe


def last_checkpoint(output_dir: str | Path) -> Path | None:
    """The ``checkpoint-N`` folder with the highest N that holds a trainer state, or ``None``."""
    best: tuple[int, Path] | None = None
    root = Path(output_dir)
    if not root.is_dir():
        return None
    for child in root.iterdir():
        name = child.name
        if not (child.is_dir() and name.startswith("checkpoint-") and name[11:].isdigit()):
            continue
        if not (child / "trainer_state.json").is_file():
            continue  # killed while saving: not resumable
        step = int(name[11:])
        if best is None or step > best[0]:
            best = (step, child)
    return best[1] if best else None


RECIPE_FILE = "recipe.yaml"

# Keys that do not change what is trained: how long, how often it saves and logs, where it
# reports. Raising max_steps (or num_train_epochs) is how a finished run is trained further.
_SCHEDULE_KEYS = (
    "max_steps",
    "num_train_epochs",
    "save_steps",
    "save_total_limit",
    "save_strategy",
    "save_only_model",
    "logging_steps",
    "logging_strategy",
    "logging_first_step",
    "logging_dir",
    "report_to",
    "run_name",
    "disable_tqdm",
    "dataloader_num_workers",
    "log_completions",
    "num_completions_to_print",
    "push_to_hub",
    "hub_model_id",
    "hub_strategy",
    "hub_private_repo",
)
_OTHER_KEYS = (
    "train.resume",
    "train.output_dir",
    "train.sft_data",  # never read, and removed; still in the recipe.yaml of older runs
    "eval",
    "data.eval",
    "model.gpu_memory_utilization",
)


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts and lists as ``{"grpo.learning_rate": 1e-05, "rewards.0.name": ...}``."""
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list):
        items = ((str(i), v) for i, v in enumerate(data))
    else:
        return {prefix: data}
    out: dict[str, Any] = {}
    for key, value in items:
        out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    if not out and prefix:
        out[prefix] = data  # an empty section or list is a value too
    return out


def changed_settings(old: dict[str, Any], new: dict[str, Any], kind: str) -> list[str]:
    """Training settings that differ between two resolved recipes, as ``key: old -> new``.

    Keys that do not change what is trained (the schedule, saving, logging, the eval section,
    the other trainer's section) are left out.

    >>> old = {"grpo": {"learning_rate": 1e-3, "max_steps": 2}, "train": {"resume": True}}
    >>> changed_settings(old, {"grpo": {"learning_rate": 2e-3, "max_steps": 9}}, "grpo")
    ['grpo.learning_rate: 0.001 -> 0.002']
    """
    other = "sft" if kind == "grpo" else "grpo"
    ignored = (*_OTHER_KEYS, other, *(f"{kind}.{k}" for k in _SCHEDULE_KEYS))

    def relevant(key: str) -> bool:
        return not any(key == p or key.startswith(p + ".") for p in ignored)

    a, b = _flatten(old), _flatten(new)
    out = []
    for key in sorted(set(a) | set(b)):
        if relevant(key) and a.get(key, "unset") != b.get(key, "unset"):
            out.append(f"{key}: {a.get(key, 'unset')} -> {b.get(key, 'unset')}")
    return out


def saved_recipe(out: Path) -> dict[str, Any] | None:
    """The resolved recipe of the run in ``out``: ``recipe.yaml``, else ``run.json``'s."""
    import yaml

    file = out / RECIPE_FILE
    try:
        if file.is_file():
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else None
        run = json.loads((out / "run.json").read_text(encoding="utf-8"))
        return run.get("recipe") if isinstance(run, dict) else None
    except (OSError, ValueError, yaml.YAMLError):
        return None


def save_recipe(out: Path, recipe: Recipe, kind: str) -> None:
    """Write the resolved recipe beside the checkpoints (a valid recipe: ``clinr1 train`` it)."""
    header = f"# The resolved recipe of the {kind} run in this folder, written when it started.\n"
    tmp = out / (RECIPE_FILE + ".tmp")
    tmp.write_text(header + recipe.to_yaml(), encoding="utf-8")
    os.replace(tmp, out / RECIPE_FILE)


def checkpoint_state(checkpoint: Path) -> dict[str, Any]:
    """A checkpoint's ``trainer_state.json`` (``{}`` when unreadable)."""
    try:
        return json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def completed_step(
    checkpoint: Path, recipe: Recipe, kind: str, previous: dict[str, Any] | None
) -> int | None:
    """The checkpoint's step when it is the run's last one (nothing left to train), else None.

    The last step is the recipe's ``max_steps``; without one (epochs), the step count the run
    computed when it started, as long as ``num_train_epochs`` is unchanged.
    """
    state = checkpoint_state(checkpoint)
    step = int(state.get("global_step") or 0)
    section = getattr(recipe, kind)
    max_steps = section.get("max_steps")
    if isinstance(max_steps, int) and max_steps > 0:
        return step if step >= max_steps else None
    before = (previous or {}).get(kind, {}) or {}
    if before.get("num_train_epochs") != section.get("num_train_epochs"):
        return None
    planned = int(state.get("max_steps") or 0)
    return step if planned and step >= planned else None


def truncate_metrics(path: Path, step: int) -> int:
    """Drop the records of ``metrics.jsonl`` logged after ``step`` (they are trained again).

    Returns how many were dropped. A torn last line goes too.
    """
    if not path.is_file():
        return 0
    lines = path.read_text(encoding="utf-8").splitlines()
    keep = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and int(record.get("step", 0)) <= step:
            keep.append(line)
    dropped = len(lines) - len(keep)
    if dropped:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text("".join(x + "\n" for x in keep), encoding="utf-8")
        os.replace(tmp, path)
    return dropped


def reward_columns(names: list[str]) -> list[tuple[str, str]]:
    """(label, log key) pairs of the per-objective means TRL logs."""
    return [(n, f"rewards/{n}/mean") for n in names]


def RunLogger(path: Path, reward_names: list[str]):
    """A TrainerCallback that appends each log to ``path`` and shows the run's progress.

    On a terminal a progress bar (steps, elapsed, ETA, last reward) stays at the bottom and each
    log is one line above it; elsewhere (a log file, CI) each log line ends with the time per
    step and the ETA.
    """
    from transformers import TrainerCallback

    from clinr1.console import Progress, duration

    class _RunLogger(TrainerCallback):
        progress: Progress | None = None

        def on_train_begin(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                self.progress = Progress(
                    "training", state.max_steps, unit="steps", done=state.global_step, every=60
                ).__enter__()

        def on_step_end(self, args, state, control, **kwargs):
            progress = self.progress
            if progress is None:
                return
            if progress.is_bar or state.global_step < state.max_steps:
                progress.update(state.global_step)  # lines: only between sparse logs
            else:
                progress.done = state.global_step

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs:
                return
            record = {"step": state.global_step, **logs}
            with open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
            if "train_runtime" in logs:
                return  # the trainer's closing log: the summary says it better
            parts = [f"step {state.global_step}/{state.max_steps}"]
            for key in ("loss", "reward", "frac_reward_zero_std"):
                if key in logs:
                    parts.append(f"{key} {logs[key]:.3f}")
            for label, key in reward_columns(reward_names):
                if key in logs:
                    parts.append(f"{label} {logs[key]:.3f}")
            progress = self.progress
            if progress is not None and "reward" in logs:
                progress.note = f"reward {logs['reward']:.3f}"
            if progress is not None and not progress.is_bar:
                progress.done = state.global_step
                rate = progress.seconds_per_unit()
                if rate is not None:
                    parts.append(f"{rate:.1f} s/step, eta {duration(progress.eta())}")
            line = " | ".join(parts)
            if progress is not None:
                progress.print(line, file=sys.stdout)
            else:
                print(line, flush=True)

        def on_train_end(self, args, state, control, **kwargs):
            self.close()

        def close(self) -> None:
            if self.progress is not None:
                self.progress.__exit__(None, None, None)
                self.progress = None

    return _RunLogger()


def quiet(trainer: Any) -> None:
    """Drop transformers' raw-dict printer; the RunLogger prints one readable line per log."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl`` (a torn last line from a kill is skipped)."""
    p = Path(path)
    if not p.is_file():
        return []
    out = []
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def peak_memory(driver: Any = None) -> dict[str, float]:
    """Peak GPU memory (GiB) when CUDA is in use, and the process's peak RSS (GiB).

    ``driver`` (``clinr1 bench``'s sampler of the driver's view, with ``peak`` and ``total`` in
    bytes) adds ``peak_gpu_driver_gib`` and ``gpu_total_gib``.
    """
    gib = 2**30
    out = {"peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        out["peak_gpu_allocated_gib"] = torch.cuda.max_memory_allocated() / gib
        out["peak_gpu_reserved_gib"] = torch.cuda.max_memory_reserved() / gib
        if driver is not None:
            out["peak_gpu_driver_gib"] = driver.peak / gib
            out["gpu_total_gib"] = driver.total / gib
    return out


def git_commit() -> str | None:
    """The commit of the clinr1 checkout (or of the working directory), if any."""
    for cwd in (Path(__file__).resolve().parent, Path.cwd()):
        try:
            out = subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if out.returncode == 0:
            return out.stdout.strip()
    return None


def write_card(out: Path, recipe: Recipe, kind: str) -> None:
    """The run's ``README.md``: base model, data, rewards and recipe (:func:`cards.run_card`)."""
    from clinr1.cards import run_card

    card = run_card(recipe.model_dump(mode="json"), kind)
    (out / "README.md").write_text(card, encoding="utf-8")


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that a reader never sees half a file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def fit(
    trainer: Any,
    recipe: Recipe,
    *,
    kind: str,
    engine: str,
    checkpoint: Path | None,
    started: float,
    changed: list[str] | None = None,
) -> dict[str, Any]:
    """Train (resuming from ``checkpoint``), then save weights, tokenizer and ``run.json``.

    Before training, ``metrics.jsonl`` is cut back to the checkpoint's step (to nothing on a
    fresh start) and the recipe is saved as ``recipe.yaml``.
    """
    out = Path(recipe.train.output_dir)
    quiet(trainer)
    main = trainer.is_world_process_zero()

    def card(*args: Any, **kwargs: Any) -> None:
        if main:
            write_card(out, recipe, kind)

    # TRL writes its own card at every checkpoint, naming a local base model "[None]": ours instead.
    trainer.create_model_card = card
    step = int(checkpoint_state(checkpoint).get("global_step") or 0) if checkpoint else 0
    if main:
        dropped = truncate_metrics(out / "metrics.jsonl", step)
        save_recipe(out, recipe, kind)
        if checkpoint:
            note = f"; {dropped} log lines after step {step} dropped" if dropped else ""
            print(f"resuming from {checkpoint} (step {step}{note})", flush=True)
        for line in changed or []:
            print(f"changed since the last run: {line}", flush=True)
    try:
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    finally:  # a Ctrl-C or an error must not leave a progress bar drawn
        for callback in trainer.callback_handler.callbacks:
            if hasattr(callback, "close"):
                callback.close()
    # Weights and tokenizer (the trainer's processing_class), on the main process only.
    trainer.save_model(str(out))
    if main:
        write_card(out, recipe, kind)  # after PEFT's save_pretrained, which edits README.md
    # Every rank returns the record (the CLI prints it); only the main process writes run.json.
    record = finish_run(
        out,
        recipe,
        kind=kind,
        engine=engine,
        state=trainer.state,
        started=started,
        resumed_from=checkpoint,
        write=False,
    )
    record["changed_settings"] = list(changed or [])
    record["parameters"] = parameter_counts(trainer.model)
    if main:
        write_json_atomic(out / "run.json", record)
    return record


# Files of a checkpoint that are trainer state, not the model a run leaves behind.
_STATE_FILES = (
    "optimizer.pt",
    "scheduler.pt",
    "scaler.pt",
    "trainer_state.json",
    "training_args.bin",
)


def finish_complete(
    out: Path, checkpoint: Path, recipe: Recipe, *, kind: str, started: float
) -> dict[str, Any]:
    """The record of a run whose last step is already trained; nothing is trained again.

    When the run was stopped after its last checkpoint but before the final save (no
    ``run.json`` for that step), the checkpoint's weights and tokenizer are copied to ``out`` and
    ``run.json`` is written from its trainer state.
    """
    import shutil
    from types import SimpleNamespace

    state = checkpoint_state(checkpoint)
    step = int(state.get("global_step") or 0)
    try:
        record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = None
    if not isinstance(record, dict) or record.get("global_step") != step:
        for file in checkpoint.iterdir():
            if file.is_file() and file.name not in _STATE_FILES and not file.name.startswith("rng"):
                shutil.copy2(file, out / file.name)
        record = finish_run(
            out,
            recipe,
            kind=kind,
            engine=recipe.model.engine,
            state=SimpleNamespace(
                log_history=state.get("log_history") or [],
                global_step=step,
                max_steps=int(state.get("max_steps") or step),
            ),
            started=started,
            resumed_from=checkpoint,
        )
        write_card(out, recipe, kind)
        record["saved_from_checkpoint"] = True
    record["already_complete"] = True
    return record


def parameter_counts(model: Any) -> dict[str, int]:
    """Trainable and total parameters (PEFT's count, which knows 4-bit packing, when it can)."""
    counter = getattr(model, "get_nb_trainable_parameters", None)
    if callable(counter):
        try:
            trainable, total = counter()
            return {"trainable": int(trainable), "total": int(total)}
        except Exception:
            pass
    trainable = total = 0
    for p in model.parameters():
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
    return {"trainable": trainable, "total": total}


def trend(
    records: list[dict[str, Any]], keys: list[str], window: int | None = None
) -> dict[str, dict[str, float]]:
    """``{key: {"start", "end", "logs"}}``: means over the first and the last ``window`` logs.

    By default a few (a quarter of the logs, 1 to 5) rather than one: a single log's sampled
    reward is noisy. The run summary, the demo and benchmarks/learning_check.py all read it.

    >>> trend([{"reward": 1.0}, {"reward": 2.0}, {"reward": 4.0}], ["reward", "loss"])
    {'reward': {'start': 1.0, 'end': 4.0, 'logs': 3}}
    """
    out = {}
    for key in keys:
        values = [float(r[key]) for r in records if isinstance(r.get(key), (int, float))]
        if not values:
            continue
        n = window or max(1, min(5, len(values) // 4))
        first, last = values[:n], values[-n:]
        out[key] = {
            "start": sum(first) / len(first),
            "end": sum(last) / len(last),
            "logs": len(values),
        }
    return out


def finish_run(
    out: Path,
    recipe: Recipe,
    *,
    kind: str,
    engine: str,
    state: Any,
    started: float,
    resumed_from: Path | None,
    write: bool = True,
) -> dict[str, Any]:
    """Write ``run.json`` (recipe, versions, commit, final metrics, time, memory) and return it.

    ``write=False`` (the other ranks of a multi-process run) returns it without writing.
    """
    from clinr1.versions import environment

    final: dict[str, Any] = {}
    for entry in state.log_history:
        final.update({k: v for k, v in entry.items() if isinstance(v, (int, float))})
    record = {
        "kind": kind,
        "engine": engine,
        "trend": trend(
            read_metrics(out / "metrics.jsonl") or list(state.log_history),
            ["reward", *(f"rewards/{r.name}/mean" for r in recipe.rewards)]
            if kind == "grpo"
            else ["loss"],
        ),
        "global_step": state.global_step,
        "max_steps": state.max_steps,
        "resumed_from": str(resumed_from) if resumed_from else None,
        "wall_time_s": round(time.time() - started, 2),
        "memory": peak_memory(),
        "final_metrics": final,
        **environment(),
        "git_commit": git_commit(),
        "recipe": recipe.model_dump(mode="json"),
    }
    if write:
        write_json_atomic(out / "run.json", record)
    return record
