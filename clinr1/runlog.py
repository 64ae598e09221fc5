"""What a run leaves behind: ``metrics.jsonl`` as it goes, ``run.json`` at the end, checkpoints.

Nothing here imports transformers at module level: the Unsloth engine must be imported first.
"""

from __future__ import annotations

import json
import os
import platform
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


def reward_columns(names: list[str]) -> list[tuple[str, str]]:
    """(label, log key) pairs of the per-objective means TRL logs."""
    return [(n, f"rewards/{n}/mean") for n in names]


def RunLogger(path: Path, reward_names: list[str]):
    """A TrainerCallback that appends each log to ``path`` and prints one line per log."""
    from transformers import TrainerCallback

    class _RunLogger(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs:
                return
            record = {"step": state.global_step, **logs}
            with open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
            parts = [f"step {state.global_step}/{state.max_steps}"]
            for key in ("loss", "reward", "frac_reward_zero_std"):
                if key in logs:
                    parts.append(f"{key} {logs[key]:.3f}")
            for label, key in reward_columns(reward_names):
                if key in logs:
                    parts.append(f"{label} {logs[key]:.3f}")
            print(" | ".join(parts), flush=True)

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


def peak_memory() -> dict[str, float]:
    """Peak GPU memory (GiB) when CUDA is in use, and the process's peak RSS (GiB)."""
    out = {"peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        out["peak_gpu_allocated_gib"] = torch.cuda.max_memory_allocated() / 2**30
        out["peak_gpu_reserved_gib"] = torch.cuda.max_memory_reserved() / 2**30
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
) -> dict[str, Any]:
    """Train (resuming from ``checkpoint``), then save weights, tokenizer and ``run.json``."""
    out = Path(recipe.train.output_dir)
    quiet(trainer)
    if checkpoint:
        print(f"resuming from {checkpoint}", flush=True)
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    # Weights and tokenizer (the trainer's processing_class), on the main process only.
    trainer.save_model(str(out))
    main = trainer.is_world_process_zero()
    # Every rank returns the record (the CLI prints it); only the main process writes run.json.
    return finish_run(
        out,
        recipe,
        kind=kind,
        engine=engine,
        state=trainer.state,
        started=started,
        resumed_from=checkpoint,
        write=main,
    )


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
    from clinr1.cli.version import package_versions

    final: dict[str, Any] = {}
    for entry in state.log_history:
        final.update({k: v for k, v in entry.items() if isinstance(v, (int, float))})
    record = {
        "kind": kind,
        "engine": engine,
        "global_step": state.global_step,
        "max_steps": state.max_steps,
        "resumed_from": str(resumed_from) if resumed_from else None,
        "wall_time_s": round(time.time() - started, 2),
        "memory": peak_memory(),
        "final_metrics": final,
        "versions": package_versions(),
        "python": platform.python_version(),
        "git_commit": git_commit(),
        "recipe": recipe.model_dump(mode="json"),
    }
    if write:
        write_json_atomic(out / "run.json", record)
    return record
