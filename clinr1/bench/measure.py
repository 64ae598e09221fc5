"""One engine's measurement, in its own process: ``python -m clinr1.bench --engine X``.

The recipe is trained for ``warmup + steps`` optimizer steps through the GRPO trainer that
``clinr1 train`` builds (:func:`clinr1.train.grpo_trainer`); :class:`StepTimer` times each step
and its phases, the warm-up steps are dropped, and the JSON goes to ``--out`` after every step,
so a run killed part way still leaves the steps it finished. What each figure means is in
:data:`clinr1.bench.definitions.DEFINITIONS`.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from clinr1.bench.definitions import ENGINES
from clinr1.config import Recipe, load_recipe
from clinr1.runlog import peak_memory, write_json_atomic


class _DriverMemory:
    """Peak device memory in use as the driver reports it (total - free), sampled in a thread."""

    def __init__(self, torch: Any, interval: float = 0.05):
        self.torch, self.interval, self.peak = torch, interval, 0
        self.total = torch.cuda.mem_get_info()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        free, total = self.torch.cuda.mem_get_info()
        self.peak = max(self.peak, total - free)

    def __enter__(self) -> _DriverMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


class StepTimer:
    """Times each optimizer step and its phases by wrapping the trainer's methods on the instance.

    ``instrument(trainer)`` replaces, on that trainer object only, the methods named in
    :attr:`PHASES` with timed wrappers (``sync`` before and after, so CUDA work is counted where
    it is issued); ``callback()`` is the TrainerCallback that opens and closes each step.
    """

    PHASES: ClassVar[dict[str, str]] = {
        "_generate_single_turn": "generation",
        "_calculate_rewards": "rewards",
        "_prepare_inputs": "rollout",
        "compute_loss": "forward",
    }

    def __init__(self, sync: Callable[[], None], *, warmup: int, max_completion_length: int):
        self.sync = sync
        self.warmup = warmup
        self.max_completion_length = max_completion_length
        self.steps: list[dict[str, Any]] = []
        self.timed: list[str] = []
        self.missing: list[str] = []
        self.timed_phases: set[str] = set()
        self._phase: dict[str, float] = defaultdict(float)
        self._tokens: dict[str, int] = defaultdict(int)
        self._t0 = 0.0
        self.echo: Callable[[str], None] = lambda line: print(line, flush=True)
        self.on_step: Callable[[], None] | None = None  # called after each step is recorded

    def _wrap(self, owner: Any, name: str, phase: str, after=None) -> None:
        fn = getattr(owner, name, None)
        if fn is None:
            self.missing.append(name)
            return

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.sync()
            start = time.perf_counter()
            try:
                out = fn(*args, **kwargs)
            finally:
                self.sync()
                self._phase[phase] += time.perf_counter() - start
            if after is not None:
                after(args, out)
            return out

        setattr(owner, name, timed)
        self.timed.append(name)
        self.timed_phases.add(phase)

    def _count_tokens(self, args: tuple, out: Any) -> None:
        with contextlib.suppress(Exception):  # token counts are extras; never break a step
            prompt_ids, completion_ids = args[0], out[0]
            lengths = [len(c) for c in completion_ids]
            self._tokens["prompt"] += sum(len(p) for p in prompt_ids)
            self._tokens["completion"] += sum(lengths)
            self._tokens["completions"] += len(lengths)
            self._tokens["clipped"] += sum(n >= self.max_completion_length for n in lengths)

    def instrument(self, trainer: Any) -> None:
        for name, phase in self.PHASES.items():
            after = self._count_tokens if phase == "generation" else None
            self._wrap(trainer, name, phase, after)
        self._wrap(trainer.accelerator, "backward", "backward")

    def begin(self) -> None:
        self.sync()
        self._phase.clear()
        self._tokens.clear()
        self._t0 = time.perf_counter()

    def _time(self, phase: str) -> float | None:
        """Seconds spent in ``phase`` this step; ``None`` when its method was not found."""
        return self._phase.get(phase, 0.0) if phase in self.timed_phases else None

    def end(self, step: int) -> None:
        self.sync()
        step_s = time.perf_counter() - self._t0
        t = self._tokens
        gen, rew, rollout, fwd, bwd = map(
            self._time, ("generation", "rewards", "rollout", "forward", "backward")
        )
        training_s = step_s - gen - rew if gen is not None and rew is not None else None
        tokens = t.get("prompt", 0) + t.get("completion", 0)

        def rest(total: float | None, *parts: float | None) -> float | None:
            if total is None or any(x is None for x in parts):
                return None
            return max(total - sum(parts), 0.0)  # type: ignore[arg-type]

        record: dict[str, Any] = {
            "step": step,
            "warmup": len(self.steps) < self.warmup,
            "step_s": step_s,
            "generation_s": gen,
            "reward_s": rew,
            "training_s": training_s,
            "prompt_tokens": t.get("prompt", 0),
            "completion_tokens": t.get("completion", 0),
            "completions": t.get("completions", 0),
            "clipped": t.get("clipped", 0),
            "generation_tokens_per_s": t.get("completion", 0) / gen if gen else None,
            "training_tokens_per_s": tokens / training_s if training_s and tokens else None,
            "profile": {
                "generation": gen,
                "rewards": rew,
                "rollout_other": rest(rollout, gen, rew),
                "forward": fwd,
                "backward": bwd,
                "optimizer_other": rest(step_s, rollout, fwd, bwd),
            },
        }
        self.steps.append(record)
        tag = " (warm-up)" if record["warmup"] else ""
        rate = record["generation_tokens_per_s"]
        self.echo(
            f"step {step}{tag}: {step_s:.2f} s (generation {gen or 0:.2f} s, rewards "
            f"{rew or 0:.3f} s, training {training_s or 0:.2f} s); {t.get('completions', 0)} "
            f"completions, {t.get('completion', 0)} completion tokens"
            + (f", {rate:.1f} generated tokens/s" if rate else "")
        )
        if self.on_step is not None:
            self.on_step()

    def callback(self) -> Any:
        from transformers import TrainerCallback

        timer = self

        class _StepTimerCallback(TrainerCallback):
            def on_step_begin(self, args, state, control, **kwargs):
                timer.begin()

            def on_step_end(self, args, state, control, **kwargs):
                timer.end(state.global_step)

        return _StepTimerCallback()

    def summary(self) -> dict[str, Any]:
        """Medians over the measured (non-warm-up) steps."""
        measured = [s for s in self.steps if not s["warmup"]]

        def med(values: Iterable[Any]) -> float | None:
            vals = [v for v in values if v is not None]
            return statistics.median(vals) if vals else None

        out: dict[str, Any] = {"measured_steps": len(measured)}
        for key in (
            "step_s",
            "generation_s",
            "reward_s",
            "training_s",
            "generation_tokens_per_s",
            "training_tokens_per_s",
            "prompt_tokens",
            "completion_tokens",
            "completions",
        ):
            out[key] = med(s[key] for s in measured)
        completions = sum(s["completions"] for s in measured)
        out["mean_completion_length"] = (
            sum(s["completion_tokens"] for s in measured) / completions if completions else None
        )
        out["clipped_ratio"] = (
            sum(s["clipped"] for s in measured) / completions if completions else None
        )
        keys = measured[0]["profile"] if measured else {}
        out["profile"] = {k: med(s["profile"][k] for s in measured) for k in keys}
        return out


def _device(torch: Any) -> dict[str, Any]:
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        return {
            "kind": "cuda",
            "name": props.name,
            "memory_gib": props.total_memory / 2**30,
            "capability": ".".join(map(str, torch.cuda.get_device_capability(0))),
            "cuda": torch.version.cuda,
        }
    name = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    return {"kind": "cpu", "name": name, "cores": os.cpu_count()}


def measure(
    recipe: Recipe,
    *,
    warmup: int,
    steps: int,
    result: dict[str, Any] | None = None,
    save: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train ``recipe`` for ``warmup + steps`` steps in this process and measure each step.

    Call it in a fresh process: the Unsloth engine imports ``unsloth`` (which patches TRL and
    transformers) in ``load_model``, before TRL is imported here. ``result`` is filled as it
    goes, so a run that fails (out of memory, say) still leaves its peak memory there; ``save``
    gets a snapshot after every step, so a run killed part way still leaves the steps it did.
    """
    import torch

    from clinr1.engine import load_model

    cuda = torch.cuda.is_available()
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    result = {} if result is None else result
    result["device"] = _device(torch)
    driver = _DriverMemory(torch) if cuda else None
    timer: StepTimer | None = None
    with driver or contextlib.nullcontext():
        try:
            t0 = time.perf_counter()
            loaded = load_model(recipe.model, trainable=True, seed=recipe.train.seed)
            result["load_s"] = time.perf_counter() - t0
            if cuda:
                result["model_gpu_allocated_gib"] = torch.cuda.memory_allocated() / 2**30

            from clinr1.device import device_settings
            from clinr1.runlog import quiet
            from clinr1.train import grpo_trainer

            trainer = grpo_trainer(
                recipe,
                loaded,
                callbacks=[],
                max_steps=warmup + steps,
                save_strategy="no",
                logging_steps=1,
                report_to="none",
                **device_settings(recipe.model, recipe.grpo),
            )
            timer = StepTimer(
                sync, warmup=warmup, max_completion_length=trainer.args.max_completion_length
            )
            if save is not None:
                timer.on_step = lambda: save(
                    {
                        **result,
                        **timer.summary(),
                        "per_step": timer.steps,
                        "memory": peak_memory(driver),
                        "partial": True,
                    }
                )
            trainer.add_callback(timer.callback())
            quiet(trainer)
            timer.instrument(trainer)
            result["settings"] = _settings(recipe, trainer.args)
            result["trainer_class"] = type(trainer).__name__
            result["timed_methods"] = timer.timed
            result["untimed_methods"] = timer.missing
            t0 = time.perf_counter()
            trainer.train()
            result["train_s"] = time.perf_counter() - t0
            result.update(timer.summary())
            result["per_step"] = timer.steps
        finally:
            if timer is not None and timer.steps and "per_step" not in result:
                result.update(timer.summary())  # failed part way: keep the steps it finished
                result["per_step"] = timer.steps
            if driver is not None:
                driver.sample()
            result["unsloth_imported"] = "unsloth" in sys.modules
            result["memory"] = peak_memory(driver)
    return result


def _settings(recipe: Recipe, args: Any) -> dict[str, Any]:
    m = recipe.model
    generation_batch = getattr(args, "generation_batch_size", None)
    num_generations = getattr(args, "num_generations", None)
    return {
        "model": m.name_or_path,
        "load_in_4bit": m.load_in_4bit,
        "dtype": m.dtype,
        "max_seq_length": m.max_seq_length,
        "lora_r": m.lora.r if m.lora else None,
        "num_generations": num_generations,
        "per_device_train_batch_size": args.per_device_train_batch_size,
        "gradient_accumulation_steps": args.gradient_accumulation_steps,
        "steps_per_generation": getattr(args, "steps_per_generation", None),
        "completions_per_step": generation_batch,
        "prompts_per_step": (
            generation_batch // num_generations if generation_batch and num_generations else None
        ),
        "max_completion_length": args.max_completion_length,
        "gradient_checkpointing": args.gradient_checkpointing,
        "fp16": args.fp16,
        "bf16": args.bf16,
        "optim": str(getattr(args.optim, "value", args.optim)),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m clinr1.bench``: measure one engine; exit 0 when it ran to the end."""
    parser = argparse.ArgumentParser(
        prog="python -m clinr1.bench",
        description="One engine's measurement for `clinr1 bench`, which runs this once per "
        "engine, each in its own process. Writes JSON to --out.",
    )
    parser.add_argument("--recipe", required=True)
    parser.add_argument("--engine", required=True, choices=ENGINES)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--out", required=True, type=Path)
    a = parser.parse_args(argv)

    result: dict[str, Any] = {"engine": a.engine, "ok": False, "warmup_steps": a.warmup}
    try:
        # The parent validated the recipe; check_trl=False keeps TRL unimported before Unsloth.
        recipe = load_recipe(a.recipe, [*a.set, f"model.engine={a.engine}"], check_trl=False)
        with tempfile.TemporaryDirectory(prefix="clinr1-bench-") as tmp:
            recipe.train.output_dir = tmp
            measure(
                recipe,
                warmup=a.warmup,
                steps=a.steps,
                result=result,
                save=lambda snapshot: write_json_atomic(a.out, _finish(snapshot)),
            )
        result["ok"] = True
    except Exception as e:
        traceback.print_exc()
        first = (str(e).strip().splitlines() or [""])[0]
        result["error"] = f"{type(e).__name__}: {first}"[:500]
    write_json_atomic(a.out, _finish(result))
    return 0 if result["ok"] else 1


def _finish(result: dict[str, Any]) -> dict[str, Any]:
    from clinr1.versions import environment

    return {**result, **environment()}
