"""``clinr1 bench``: seconds, tokens/s and peak memory of a CRPO step, per engine, side by side.

Each engine runs in **its own subprocess** (``python -m clinr1.bench --engine X``), one after
the other on the same machine, in the same call: ``import unsloth`` patches transformers and TRL
for the whole process, so an ``hf`` run in a process that has imported Unsloth would not be plain
TRL + PEFT, and each process's peak memory is that engine's alone. The parent
(:func:`run_bench`) validates the recipe, builds the random model once (``--random-init``),
starts the engines, collects their JSON and computes the ratios.

Inside an engine's process the recipe is trained for ``warmup + steps`` optimizer steps through
TRL's ``GRPOTrainer`` exactly as ``clinr1 train`` builds it; the warm-up steps are dropped. What
is measured, per optimizer step (CUDA synchronised at every boundary), is in :data:`DEFINITIONS`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import hashlib
import json
import os
import platform
import resource
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from clinr1.config import Recipe, load_recipe

ENGINES = ("unsloth", "hf")
BASELINE = "hf"

RANDOM_INIT_NOTE = (
    "random weights (--random-init): EOS is almost never sampled, so completions run to their "
    "maximum length; a worst case for speed and memory, and no accuracy meaning"
)
ISOLATION_NOTE = (
    "each engine ran in its own process (import unsloth patches transformers/TRL process-wide), "
    "one after the other on this machine"
)

DEFINITIONS = {
    "step": "one optimizer step of GRPOTrainer: one generation round of per_device_train_batch_"
    "size x steps_per_generation completions, then gradient_accumulation_steps micro-batches",
    "step_s": "wall time from on_step_begin to on_step_end (rollout, loss, backward, optimizer)",
    "generation_s": "time in GRPOTrainer._generate_single_turn (model.generate + EOS masking)",
    "reward_s": "time in GRPOTrainer._calculate_rewards (all reward functions)",
    "training_s": "step_s - generation_s - reward_s (reference log-probs, forward, backward, "
    "optimizer)",
    "generation_tokens_per_s": "completion tokens kept (up to and including EOS, no padding) "
    "/ generation_s",
    "training_tokens_per_s": "(prompt + completion tokens of the step, no padding) / training_s",
    "profile": "generation, rewards, rollout_other (_prepare_inputs minus generation and "
    "rewards: reference-model log-probs, advantages), forward (compute_loss), backward "
    "(accelerator.backward), optimizer_other (the rest of step_s)",
    "medians": "per-step values are medians over the measured steps; warm-up steps are dropped",
    "peak_rss_gib": "the engine process's peak resident set size (ru_maxrss), load included",
    "peak_gpu_allocated_gib": "torch.cuda.max_memory_allocated over the process, load included",
    "peak_gpu_reserved_gib": "torch.cuda.max_memory_reserved (the caching allocator's peak)",
    "peak_gpu_driver_gib": "the driver's view: device memory in use (cudaMemGetInfo total - free, "
    "CUDA context included), sampled every 50 ms; what nvidia-smi shows",
    "ratios": "speedup = hf step_s / engine step_s; tokens/s ratios = engine / hf; memory "
    "ratios = engine peak / hf peak",
}

# Targets of issue 9, judged only on a CUDA GPU with 4-bit weights on both engines.
T4_LIMIT_GB = 15.0  # decimal GB, 13.97 GiB: fits a free Colab T4 (14.7 GiB usable) with room
SPEEDUP_MIN = 1.5
MEMORY_RATIO_MAX = 0.6

# Architectures that --random-init builds without the hub (from the models' config.json).
_QWEN25 = dict(
    model_type="qwen2",
    hidden_act="silu",
    rms_norm_eps=1e-6,
    rope_theta=1_000_000.0,
    max_position_embeddings=32768,
    use_sliding_window=False,
)
ARCHITECTURES: dict[str, dict[str, Any]] = {
    "Qwen2.5-0.5B-Instruct": dict(
        _QWEN25, hidden_size=896, num_hidden_layers=24, num_attention_heads=14,
        num_key_value_heads=2, intermediate_size=4864, vocab_size=151936, tie_word_embeddings=True,
    ),
    "Qwen2.5-1.5B-Instruct": dict(
        _QWEN25, hidden_size=1536, num_hidden_layers=28, num_attention_heads=12,
        num_key_value_heads=2, intermediate_size=8960, vocab_size=151936, tie_word_embeddings=True,
    ),
    "Qwen2.5-3B-Instruct": dict(
        _QWEN25, hidden_size=2048, num_hidden_layers=36, num_attention_heads=16,
        num_key_value_heads=2, intermediate_size=11008, vocab_size=151936,
        tie_word_embeddings=True,
    ),
    "Qwen2.5-7B-Instruct": dict(
        _QWEN25, hidden_size=3584, num_hidden_layers=28, num_attention_heads=28,
        num_key_value_heads=4, intermediate_size=18944, vocab_size=152064,
        tie_word_embeddings=False,
    ),
}  # fmt: skip
_RANDOM_BUILD_VERSION = 1


class BenchError(Exception):
    """A user-fixable benchmark problem; the message is one line."""


# --- random-init model ---------------------------------------------------------------------------


def architecture(name_or_path: str) -> tuple[dict[str, Any], Path | None]:
    """The config (as a dict with ``model_type``) of ``name_or_path``, and its tokenizer folder.

    A local folder (or ``tiny-random-qwen2``) gives its own config and tokenizer; a known hub
    name (``Qwen/Qwen2.5-3B-Instruct``, any owner) gives the built-in table above and no
    tokenizer; any other name is fetched with ``AutoConfig`` (needs the hub or its cache).
    """
    from clinr1.engine import resolve_model

    path = Path(resolve_model(name_or_path))
    if (path / "config.json").is_file():
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        has_tokenizer = (path / "tokenizer_config.json").is_file()
        return config, path if has_tokenizer else None
    base = name_or_path.rstrip("/").split("/")[-1]
    for known, arch in ARCHITECTURES.items():
        if base.lower() == known.lower():
            return dict(arch), None
    try:
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(name_or_path).to_dict(), None
    except Exception as e:
        raise BenchError(
            f"--random-init: no built-in architecture for {name_or_path!r} and its config could "
            f"not be fetched ({type(e).__name__}); known: {', '.join(ARCHITECTURES)}, or pass a "
            "local model folder"
        ) from None


def random_model_path(name_or_path: str, dtype: str = "auto", seed: int = 0) -> Path:
    """Build (once, cached) ``name_or_path``'s architecture with random weights; return the folder.

    The folder is an ordinary Hugging Face model (safetensors + tokenizer), so each engine loads
    it through its real path, 4-bit quantisation included. Without a tokenizer of its own (a hub
    name offline) it gets the tiny model's byte-level BPE (768 ids, ChatML template,
    ``<|im_end|>`` as EOS); the model keeps its full vocabulary, the ids above 768 stay unused
    in prompts and decode to nothing.
    """
    from clinr1.cache import build_once, cache_dir
    from clinr1.tiny import tiny_model_path

    config, tokenizer_dir = architecture(name_or_path)
    tokenizer_dir = tokenizer_dir or tiny_model_path()
    key = json.dumps([_RANDOM_BUILD_VERSION, config, str(tokenizer_dir), dtype, seed], default=str)
    slug = name_or_path.rstrip("/").split("/")[-1]
    target = cache_dir() / "random-init" / f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"

    def build(folder: Path) -> None:
        _build_random(config, tokenizer_dir, folder, dtype=dtype, seed=seed)
        marker = {"from": name_or_path, "seed": seed}
        (folder / "clinr1_random.json").write_text(json.dumps(marker))

    return build_once(target, "clinr1_random.json", build)


def _build_random(config: dict[str, Any], tokenizer_dir: Path, out: Path, *, dtype: str, seed: int):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    config = dict(config)
    model_type = config.pop("model_type")
    for key in ("architectures", "transformers_version", "torch_dtype", "dtype", "_name_or_path"):
        config.pop(key, None)
    cfg = AutoConfig.for_model(model_type, **config)
    cfg.eos_token_id = tokenizer.eos_token_id
    cfg.pad_token_id = tokenizer.pad_token_id
    cfg.bos_token_id = None
    torch_dtype = torch.bfloat16 if dtype == "auto" else getattr(torch, dtype)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch_dtype)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, do_sample=False
    )
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    del model


# --- inside one engine's process -----------------------------------------------------------------


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


def _memory(torch: Any | None, driver: _DriverMemory | None) -> dict[str, float]:
    gib = 2**30
    out = {"peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}
    if torch is not None and torch.cuda.is_available():
        out["peak_gpu_allocated_gib"] = torch.cuda.max_memory_allocated() / gib
        out["peak_gpu_reserved_gib"] = torch.cuda.max_memory_reserved() / gib
        if driver is not None:
            out["peak_gpu_driver_gib"] = driver.peak / gib
            out["gpu_total_gib"] = driver.total / gib
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
                        "memory": _memory(torch, driver),
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
            result["memory"] = _memory(torch, driver)
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


def _child_main(argv: Sequence[str] | None = None) -> int:
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

    from clinr1.runlog import write_json_atomic

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


# --- the orchestrator ----------------------------------------------------------------------------


def _run_engine(
    engine: str,
    recipe_path: Path,
    overrides: Sequence[str],
    *,
    warmup: int,
    steps: int,
    timeout_s: float | None,
    workdir: Path,
    echo: Callable[[str], None],
) -> dict[str, Any]:
    out = workdir / f"{engine}.json"
    cmd = [sys.executable, "-m", "clinr1.bench", "--recipe", str(recipe_path), "--engine", engine]
    for text in overrides:
        cmd += ["--set", text]
    cmd += ["--warmup", str(warmup), "--steps", str(steps), "--out", str(out)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    echo(f"[{engine}] {' '.join(shlex.quote(c) for c in cmd[1:])}")
    started = time.perf_counter()
    tail: list[str] = []
    # A session of its own, so a timeout also ends the compile workers the engine started.
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        bufsize=1,
        start_new_session=True,
    )
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    timer = threading.Timer(timeout_s, kill) if timeout_s else None
    if timer:
        timer.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\n")
            echo(f"[{engine}] {line}")
            tail = [*tail[-39:], line]
        proc.wait()
    finally:
        if timer:
            timer.cancel()
        if proc.poll() is None:  # interrupted (Ctrl-C): the engine's session does not get it
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    wall = time.perf_counter() - started
    why = f"timed out after {timeout_s:g} s" if timed_out.is_set() else "no result written"
    result = {"engine": engine, "ok": False, "error": f"{why} (exit code {proc.returncode})"}
    if out.is_file():
        saved = json.loads(out.read_text(encoding="utf-8"))
        if saved.get("partial"):  # killed between steps: keep the steps it finished
            done = len(saved.get("per_step", []))
            saved["error"] = f"{why} after {done} of {warmup + steps} steps"
        result = saved
    if not result.get("ok"):
        result["output_tail"] = tail
    result["process_wall_s"] = wall
    return result


def compare(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Ratios of each engine against ``hf`` (see ``DEFINITIONS['ratios']``)."""
    base = results.get(BASELINE)
    if not base or not base.get("ok"):
        return {}
    ratios: dict[str, dict[str, Any]] = {}
    for engine, r in results.items():
        if engine == BASELINE or not r.get("ok"):
            continue

        def div(a: Any, b: Any) -> float | None:
            return a / b if a and b else None

        mem_keys = [k for k in r.get("memory", {}) if k.startswith("peak_")]
        ratios[f"{engine}_vs_{BASELINE}"] = {
            "speedup_step": div(base.get("step_s"), r.get("step_s")),
            "speedup_generation": div(base.get("generation_s"), r.get("generation_s")),
            "speedup_training": div(base.get("training_s"), r.get("training_s")),
            "generation_tokens_per_s": div(
                r.get("generation_tokens_per_s"), base.get("generation_tokens_per_s")
            ),
            "training_tokens_per_s": div(
                r.get("training_tokens_per_s"), base.get("training_tokens_per_s")
            ),
            "memory": {k: div(r["memory"][k], base["memory"].get(k)) for k in mem_keys},
        }
    return ratios


def _peak_gpu(r: dict[str, Any]) -> float | None:
    mem = r.get("memory", {})
    return mem.get("peak_gpu_driver_gib") or mem.get("peak_gpu_reserved_gib")


def check_targets(results: dict[str, dict[str, Any]], ratios: dict[str, Any]) -> dict[str, Any]:
    """Issue 9's targets, judged on the driver's view of GPU memory; ``None`` where not judged."""
    u, h = results.get("unsloth", {}), results.get(BASELINE, {})
    cuda = u.get("device", {}).get("kind") == "cuda"
    four_bit = all(r.get("settings", {}).get("load_in_4bit") for r in (u, h) if r.get("ok"))
    out: dict[str, Any] = {
        "t4_limit_gb": T4_LIMIT_GB,
        "speedup_min": SPEEDUP_MIN,
        "memory_ratio_max": MEMORY_RATIO_MAX,
        "unsloth_fits_t4": None,
        "unsloth_speedup": None,
        "unsloth_memory_ratio": None,
    }
    if not (u.get("ok") and cuda and four_bit):
        why = "CPU" if not cuda else "16-bit weights"
        if not u.get("ok"):
            why = "the unsloth engine failed" if u else "the unsloth engine was not run"
        out["why_not_judged"] = (
            "the targets are for a CUDA GPU with 4-bit weights (crpo-t4 settings); this run: " + why
        )
        return out
    peak = _peak_gpu(u)
    out["unsloth_fits_t4"] = peak * 2**30 <= T4_LIMIT_GB * 1e9 if peak else None
    pair = ratios.get(f"unsloth_vs_{BASELINE}")
    if pair:
        speedup = pair["speedup_step"]
        base_peak = _peak_gpu(h)
        mem_ratio = peak / base_peak if peak and base_peak else None
        out["unsloth_speedup"] = speedup is not None and speedup >= SPEEDUP_MIN
        out["unsloth_memory_ratio"] = mem_ratio is not None and mem_ratio <= MEMORY_RATIO_MAX
    return out


def run_bench(
    recipe: Recipe,
    recipe_path: Path,
    overrides: Sequence[str] = (),
    *,
    engines: Sequence[str] = ENGINES,
    steps: int = 3,
    warmup: int = 1,
    random_init: bool = False,
    timeout_s: float | None = None,
    command: str | None = None,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Measure each engine in its own process, one after the other; return the report."""
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        raise BenchError(f"unknown engine {', '.join(unknown)!r}; valid: {', '.join(ENGINES)}")
    from clinr1.engine import EngineError, resolve_model

    child_overrides = list(overrides)
    model_path = None
    m = recipe.model
    spec = str(Path(m.name_or_path) / m.gguf_file) if m.gguf_file else m.name_or_path
    try:
        if random_init:
            echo(f"building {spec} with random weights ...")
            t0 = time.perf_counter()
            model_path = random_model_path(spec, m.dtype)
            echo(f"random model in {model_path} ({time.perf_counter() - t0:.0f} s)")
            child_overrides += [f"model.name_or_path={model_path}", "model.gguf_file=null"]
        else:  # a named model or a GGUF is built here once, before any engine is timed
            resolve_model(m.name_or_path, m.gguf_file)
    except EngineError as e:  # a GGUF transformers cannot read, a missing weights package
        raise BenchError(str(e)) from None
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="clinr1-bench-") as tmp:
        for engine in engines:
            results[engine] = _run_engine(
                engine,
                recipe_path,
                child_overrides,
                warmup=warmup,
                steps=steps,
                timeout_s=timeout_s,
                workdir=Path(tmp),
                echo=echo,
            )
    ratios = compare(results)
    # Failed engines still report their device and versions (they are recorded first and last).
    first_ok = next((r for r in results.values() if r.get("ok")), None)
    first_ok = first_ok or next((r for r in results.values() if r.get("device")), {})
    notes = [ISOLATION_NOTE]
    if random_init:
        notes.append(RANDOM_INIT_NOTE)
    return {
        "command": command,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "recipe": str(recipe_path),
        "overrides": list(overrides),
        "model": recipe.model.name_or_path,
        "random_init": random_init,
        "random_model_path": str(model_path) if model_path else None,
        "warmup_steps": warmup,
        "steps": steps,
        "device": first_ok.get("device"),
        "versions": first_ok.get("versions"),
        "python": first_ok.get("python"),
        "notes": notes,
        "definitions": DEFINITIONS,
        "engines": results,
        "ratios": ratios,
        "targets": check_targets(results, ratios),
    }


# --- the table -----------------------------------------------------------------------------------

_ROWS = (
    # label, key (memory.* for memory), format, ratio kind: time (hf/x), rate (x/hf), mem (x/hf)
    ("seconds / step (median)", "step_s", "{:.2f}", "time"),
    ("  generation s", "generation_s", "{:.2f}", "time"),
    ("  rewards s", "reward_s", "{:.3f}", "time"),
    ("  training s", "training_s", "{:.2f}", "time"),
    ("generation tokens/s", "generation_tokens_per_s", "{:.1f}", "rate"),
    ("training tokens/s", "training_tokens_per_s", "{:.1f}", "rate"),
    ("completions / step", "completions", "{:.0f}", None),
    ("prompt tokens / step", "prompt_tokens", "{:.0f}", None),
    ("completion length (mean)", "mean_completion_length", "{:.1f}", None),
    ("clipped at max length", "clipped_ratio", "{:.0%}", None),
    ("peak GPU, driver GiB", "memory.peak_gpu_driver_gib", "{:.2f}", "mem"),
    ("peak GPU, allocated GiB", "memory.peak_gpu_allocated_gib", "{:.2f}", "mem"),
    ("peak GPU, reserved GiB", "memory.peak_gpu_reserved_gib", "{:.2f}", "mem"),
    ("peak RSS GiB", "memory.peak_rss_gib", "{:.2f}", "mem"),
)


def _get(r: dict[str, Any], key: str) -> Any:
    if key.startswith("memory."):
        return r.get("memory", {}).get(key[7:])
    return r.get(key)


def _has_steps(r: dict[str, Any]) -> bool:
    """Ran to the end, or failed after some measured steps (shown: they are real figures)."""
    return bool(r.get("ok") or r.get("measured_steps"))


def format_report(report: dict[str, Any]) -> str:
    """The table on screen: one column per engine, then each engine against hf."""
    results = report["engines"]
    engines = list(results)
    others = [e for e in engines if e != BASELINE and BASELINE in results]
    dev = report.get("device") or {}
    where = dev.get("name", "?")
    if "memory_gib" in dev:
        where += f" ({dev['memory_gib']:.0f} GiB)"
    lines = [
        f"clinr1 bench {report['recipe']}: median of {report['steps']} step(s) after "
        f"{report['warmup_steps']} warm-up, on {dev.get('kind', '?')}: {where}",
    ]
    header = f"{'':<26}" + "".join(f"{e:>12}" for e in engines)
    header += "".join(f"{e + '/' + BASELINE:>14}" for e in others)
    lines.append(header)
    for label, key, fmt, kind in _ROWS:
        values = [_get(results[e], key) if _has_steps(results[e]) else None for e in engines]
        if all(v is None for v in values):
            continue
        row = f"{label:<26}" + "".join(
            f"{(fmt.format(v) if v is not None else '-'):>12}" for v in values
        )
        for e in others:
            both = results[e].get("ok") and results[BASELINE].get("ok")
            mine, base = (_get(results[e], key), _get(results[BASELINE], key)) if both else (0, 0)
            text = ""
            if kind and mine and base:
                if kind == "time":
                    x = base / mine
                    text = f"{x:.2f}x faster" if x >= 1 else f"{1 / x:.2f}x slower"
                else:
                    text = f"{mine / base:.2f}x"
            row += f"{text:>14}"
        lines.append(row)
    for e in engines:
        r = results[e]
        if not r.get("ok"):
            partial = r.get("measured_steps")
            lines.append(
                f"{e}: FAILED: {r.get('error')}"
                + (f" (its column: the {partial} measured step(s) it finished)" if partial else "")
            )
            continue
        s = r.get("settings", {})
        lines.append(
            f"{e}: {r.get('trainer_class')}, 4-bit {s.get('load_in_4bit')}, "
            f"G={s.get('num_generations')}, {s.get('completions_per_step')} completions/step, "
            f"max {s.get('max_completion_length')} tokens, gradient checkpointing "
            f"{s.get('gradient_checkpointing')}, unsloth imported {r.get('unsloth_imported')}"
        )
        prof = r.get("profile") or {}
        total = r.get("step_s") or 0
        parts = [
            f"{k} {v:.2f}s ({v / total:.0%})" for k, v in prof.items() if v is not None and total
        ]
        lines.append(f"{e} profile: " + ", ".join(parts))
    t = report.get("targets", {})
    if t.get("why_not_judged"):
        lines.append(f"targets: not judged: {t['why_not_judged']}")
    else:

        def mark(ok: Any) -> str:
            return "n/a" if ok is None else "met" if ok else "MISSED"

        lines.append(
            f"targets: unsloth peak <= {t['t4_limit_gb']:g} GB: {mark(t['unsloth_fits_t4'])}; "
            f"speedup >= {t['speedup_min']:g}x: {mark(t['unsloth_speedup'])}; "
            f"memory <= {t['memory_ratio_max']:g}x hf: {mark(t['unsloth_memory_ratio'])}"
        )
    lines += [f"note: {n}" for n in report.get("notes", [])]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(_child_main())
