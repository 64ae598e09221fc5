"""The orchestrator of ``clinr1 bench``: each engine in its own process, then the ratios.

:func:`run_bench` takes a validated recipe, builds the random model once (``--random-init``)
or resolves the named model once, starts each engine's process (:mod:`clinr1.bench.measure`) one
after the other, collects their JSON, and computes the ratios against the baseline and issue 9's
targets.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from clinr1.bench.definitions import (
    BASELINE,
    DEFINITIONS,
    ENGINES,
    ISOLATION_NOTE,
    RANDOM_INIT_NOTE,
    BenchError,
)
from clinr1.bench.random_init import random_model_path
from clinr1.cards import model_source
from clinr1.config import Recipe

# Targets of issue 9, judged only on a CUDA GPU with 4-bit weights on both engines.
T4_LIMIT_GB = 15.0  # decimal GB, 13.97 GiB: fits a free Colab T4 (14.7 GiB usable) with room
SPEEDUP_MIN = 1.5
MEMORY_RATIO_MAX = 0.6


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
    spec = model_source(m.model_dump())
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
