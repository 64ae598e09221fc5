"""Real learning check: does CRPO make a real model's reasoning more faithful and comprehensive
than plain GRPO does? (A benchmark, not a test.)

SmolLM2-135M-Instruct -> cold-start LoRA SFT on rule-written traces (clinr1.traces) -> two arms
from the same SFT adapter, same seed and settings, differing only in their rewards:

* ``grpo``: accuracy only (the paper's baseline); faithfulness and comprehensiveness are logged
  with weight 0 so that both arms draw the same curves;
* ``crpo``: accuracy x 10 + faithfulness + comprehensiveness.

Base, SFT, GRPO and CRPO are then evaluated (greedy) on held-out real items: 50 MedQA and 50
MedMCQA rows of ``../shared/data`` (the other 100 rows and the 48 bundled vignettes are the
training items; no item is in both), or the hub's test splits where ``../shared`` is absent.
Every step is a ``clinr1`` command run in a child process, so each stage resumes or is skipped
when it has already finished: re-running after a kill goes on where it stopped.

    OMP_NUM_THREADS=1 python benchmarks/real_learning_check.py            # --scale cpu (default)
    python benchmarks/real_learning_check.py --scale full                 # a GPU: more of all
    python benchmarks/real_learning_check.py --scale smoke --model tiny-random-qwen2

Writes, under ``--out`` (default ``outputs/real-learning-check``): the stages' folders and
logs; and ``benchmarks/results/real_learning_check.json`` (``{"model", "arms": {arm:
{"n_items", "accuracy", "faithfulness", "comprehensiveness", ...}}}``, fractions in [0, 1], each
with its 95 % CI), ``real_learning_check.png`` (each arm's per-objective reward curves),
``real_learning_check_samples.md`` (10 answers per arm) and the table printed at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
RECIPE = ROOT / "recipes" / "smollm2-cpu.yaml"
ARMS = ("base", "sft", "grpo", "crpo")
BENCHMARKS = ("medqa", "medmcqa")
OBJECTIVES = ("accuracy", "faithfulness", "comprehensiveness", "format")
SUBSCORES = (
    "faithfulness/consistency",
    "faithfulness/grounding",
    "faithfulness/citation",
    "comprehensiveness/distractor_coverage",
    "comprehensiveness/behaviours",
    "format/sections",
    "format/single_box",
)
# Per scale: held-out items per benchmark, SFT steps, RL steps and learning rate per arm,
# tokens, trace wordings, brief traces (1) or full ones (0). "cpu" is runs 6-8 of RESULTS.md:
# 32 SFT steps on both cores, then 16 RL steps per arm at lr 1e-4 (56-59 min on a 2-vCPU VM
# with --stop-loops); CRPO led GRPO with seed 42 in run 6 and seed 1 in run 8, and fell behind
# with seed 42 in run 7: at this scale the outcome is a draw. "cpu-long" is run 2 (32 steps
# at 5e-5: the same lead, ~1 h 15 now); "cpu-short" is run 5 (12 steps at 5e-5: the arms came
# out equal); 20 SFT steps (run 4) left a cold start that looped; "cpu-brief" (run 3) made an
# incoherent one.
SCALES: dict[str, dict[str, int | float]] = {
    "smoke": {
        "eval_n": 3,
        "sft_steps": 2,
        "rl_steps": 2,
        "rl_lr": 5e-5,
        "tokens": 48,
        "wordings": 1,
        "brief": 1,
        "stop_loops": 1,
    },
    "cpu": {
        "eval_n": 50,
        "sft_steps": 32,
        "rl_steps": 16,
        "rl_lr": 1e-4,
        "tokens": 384,
        "wordings": 2,
        "brief": 0,
        "stop_loops": 1,
    },
    "cpu-long": {
        "eval_n": 50,
        "sft_steps": 32,
        "rl_steps": 32,
        "rl_lr": 5e-5,
        "tokens": 384,
        "wordings": 2,
        "brief": 0,
        "stop_loops": 1,
    },
    "cpu-short": {
        "eval_n": 50,
        "sft_steps": 32,
        "rl_steps": 12,
        "rl_lr": 5e-5,
        "tokens": 384,
        "wordings": 2,
        "brief": 0,
        "stop_loops": 1,
    },
    "cpu-brief": {
        "eval_n": 50,
        "sft_steps": 24,
        "rl_steps": 24,
        "rl_lr": 5e-5,
        "tokens": 288,  # brief traces: 214 tokens on average, 288 at most
        "wordings": 2,
        "brief": 1,
        "stop_loops": 1,
    },
    "full": {
        "eval_n": 500,
        "sft_steps": 400,
        "rl_steps": 300,
        "rl_lr": 5e-5,
        "tokens": 1024,
        "wordings": 3,
        "brief": 0,
        "stop_loops": 0,
    },
}
REWARDS = {
    "grpo": "[{name: accuracy, weight: 10}, {name: faithfulness, weight: 0}, "
    "{name: comprehensiveness, weight: 0}, {name: format, weight: 0}]",
    "crpo": "[{name: accuracy, weight: 10}, {name: faithfulness, weight: 1}, "
    "{name: comprehensiveness, weight: 1}, {name: format, weight: 0}]",
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- data ---------------------------------------------------------------------------------
def split_items(eval_n: int) -> tuple[dict[str, list], list]:
    """(held-out items per benchmark, training items): disjoint by construction."""
    from clinr1.data import DataSource, demo_items, load_items

    if SHARED.is_dir():
        medqa = load_items(
            DataSource(name="medqa", path=str(SHARED / "medqa_usmle_test_sample.jsonl"))
        ).items
        medmcqa = load_items(
            DataSource(name="medmcqa", path=str(SHARED / "medmcqa_dev_sample.jsonl"))
        ).items
        held = {"medqa": medqa[:eval_n], "medmcqa": medmcqa[:eval_n]}
        train = medqa[eval_n:] + medmcqa[eval_n:] + list(demo_items())
    else:  # a user's clone: the hub's test splits are held out, its train splits train
        held = {
            "medqa": load_items(DataSource(name="medqa", split="test", limit=eval_n)).items,
            "medmcqa": load_items(
                DataSource(name="medmcqa", split="validation", limit=eval_n)
            ).items,
        }
        train = load_items(DataSource(name="medqa", split="train", limit=200)).items
        train += load_items(DataSource(name="medmcqa", split="train", limit=200)).items
    for name, items in held.items():  # ids that say what the items are in the outputs
        for n, item in enumerate(items):
            item.id = f"{name}-heldout-{n}"
    held_ids = {(i.source, i.question) for items in held.values() for i in items}
    train = [i for i in train if (i.source, i.question) not in held_ids]
    return held, train


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(path)


def prepare_data(out: Path, scale: dict[str, int | float]) -> dict[str, Path]:
    """The held-out files, the RL items and the SFT traces (written once)."""
    from clinr1.traces import write_traces

    data = out / "data"
    paths = {
        "medqa": data / "eval" / "medqa.jsonl",
        "medmcqa": data / "eval" / "medmcqa.jsonl",
        "train": data / "train.jsonl",
        "traces": data / "traces.jsonl",
    }
    # The settings the data files were made with: a folder made at another scale would train
    # on its traces and resume its stages.
    settings = data / "settings.json"
    wanted = {k: scale[k] for k in ("eval_n", "wordings", "brief")}
    if settings.exists() and (made := json.loads(settings.read_text(encoding="utf-8"))) != wanted:
        raise SystemExit(f"{out} holds data made with {made}, not {wanted}: use another --out")
    if all(p.exists() for p in paths.values()):
        return paths
    held, train = split_items(int(scale["eval_n"]))
    for name, items in held.items():
        write_jsonl(paths[name], [i.to_dict() for i in items])
    write_jsonl(paths["train"], [i.to_dict() for i in train])
    rows: list[dict[str, Any]] = []
    for seed in range(int(scale["wordings"])):
        part = write_traces(
            train, data / f"traces-{seed}.jsonl", seed=seed, brief=bool(scale["brief"])
        )
        rows += read_jsonl(part)
    write_jsonl(paths["traces"], rows)
    settings.write_text(json.dumps(wanted) + "\n", encoding="utf-8")
    log(f"data: {len(train)} training items, {len(rows)} verified traces, held out "
        f"{', '.join(f'{len(v)} {k}' for k, v in held.items())}")  # fmt: skip
    return paths


# --- stages -------------------------------------------------------------------------------
def clinr1(args: list[str], logfile: Path, threads: int | None = None) -> None:
    """One ``clinr1`` command in a child process, its output in ``logfile``; ``threads`` sets
    the child's OMP_NUM_THREADS (else it inherits this process's)."""
    logfile.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "clinr1", *args]
    env = dict(os.environ) | ({"OMP_NUM_THREADS": str(threads)} if threads else {})
    started = time.time()
    with open(logfile, "a", encoding="utf-8") as f:
        f.write(f"\n$ {' '.join(cmd)}\n")
        f.flush()
        result = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    if result.returncode != 0:
        tail = logfile.read_text(encoding="utf-8").splitlines()[-5:]
        raise SystemExit(f"failed ({result.returncode}): {' '.join(args[:2])}\n" + "\n".join(tail))
    log(f"  {args[0]} done in {time.time() - started:.0f} s ({logfile.name})")


def common(model: str, seed: int) -> list[str]:
    return ["--set", f"model.name_or_path={model}", "--set", f"train.seed={seed}"]


def run_stages(
    out: Path,
    model: str,
    scale: dict[str, int | float],
    seed: int,
    arm_sets: list[str],
    parallel: int = 1,
) -> dict[str, Path]:
    """SFT, both RL arms and the four arms' evaluations, on ``parallel`` CPU threads: SFT alone
    on all of them, then the two arms side by side, then the evaluations, one per arm and
    benchmark (one thread each)."""
    paths = prepare_data(out, scale)
    sft_threads = max(1, parallel)  # SFT runs alone on every thread
    logs = out / "logs"
    recipe = str(RECIPE)
    sft_dir = out / "sft"

    def sft() -> None:
        clinr1(
            ["sft", recipe, *common(model, seed), "--set", f"sft.max_steps={scale['sft_steps']}",
             "--set", f"data.train={{name: jsonl, path: {paths['traces']}}}",
             "--set", f"train.output_dir={sft_dir}"],
            logs / "sft.log",
            threads=sft_threads,
        )  # fmt: skip

    def rl(arm: str) -> None:
        clinr1(
            ["train", recipe, *common(model, seed), "--set", f"model.adapter={sft_dir}",
             "--set", f"grpo.max_steps={scale['rl_steps']}",
             "--set", f"grpo.learning_rate={scale['rl_lr']}",
             "--set", f"grpo.max_completion_length={scale['tokens']}",
             "--set", f"rewards={REWARDS[arm]}",
             "--set", f"data.train={{name: jsonl, path: {paths['train']}}}",
             "--set", f"train.output_dir={out / arm}",
             *[x for kv in arm_sets for x in ("--set", kv)]],
            logs / f"{arm}.log",
            threads=1,
        )  # fmt: skip

    def evaluate(arm: str, bench: str) -> None:
        args = ["eval", "--recipe", recipe, "--model", model,
                "--benchmark", f"file:{paths[bench]}", "--out", str(out / "eval" / arm / bench),
                "--max-new-tokens", str(scale["tokens"]),
                "--batch-size", "8", "--engine", "hf", "--no-load-in-4bit"]  # fmt: skip
        if scale["stop_loops"]:  # a looping answer scores 0 at its loop as at the cap
            args += ["--stop-loops", "--backend", "hf"]
        if arm != "base":
            args += ["--adapter", str(sft_dir if arm == "sft" else out / arm)]
        clinr1(args, logs / f"eval-{arm}-{bench}.log", threads=1)

    # Each job with the jobs it needs; one evaluation per arm and benchmark, so that the last
    # evaluations share the cores evenly. SFT takes every thread: beside the base evaluations
    # on one thread each (runs 2-5) the second core idled once those ended (~14 min in run 5);
    # the base evaluations, listed after the arms, now wait for a free thread with the others.
    jobs: dict[str, tuple[tuple[str, ...], Callable[[], None]]] = {
        "sft": ((), sft),
        "grpo": (("sft",), lambda: rl("grpo")),
        "crpo": (("sft",), lambda: rl("crpo")),
    }
    # MedQA's evaluations first: its longer cases take ~600 s against MedMCQA's ~190-530 (run
    # 6), so the shorter ones fill the last minutes on both cores.
    for bench in BENCHMARKS:
        for arm in ARMS:
            needs = () if arm == "base" else ("sft",) if arm == "sft" else (arm,)
            jobs[f"eval {arm} {bench}"] = (needs, lambda a=arm, b=bench: evaluate(a, b))
    run_jobs(jobs, parallel, threads={"sft": sft_threads})
    return paths


def run_jobs(
    jobs: dict[str, tuple[tuple[str, ...], Callable[[], None]]],
    parallel: int = 1,
    threads: dict[str, int] | None = None,
) -> None:
    """Run ``jobs`` (name: (the jobs it needs, function)) on ``parallel`` threads, each job as
    soon as what it needs has finished and its threads are free (``threads``: name -> how many
    it takes, 1 if absent, at most ``parallel``), in the order given where several are ready:
    a job first in line blocks those after it, so that a job that takes every thread is not
    starved by one-thread jobs."""
    unknown = {n for needs, _ in jobs.values() for n in needs} - set(jobs)
    if unknown:
        raise ValueError(f"jobs need what no job makes: {', '.join(sorted(unknown))}")
    slots = max(1, parallel)
    width = {name: min(slots, max(1, (threads or {}).get(name, 1))) for name in jobs}
    done: set[str] = set()
    running: dict[Future[None], str] = {}
    waiting = dict(jobs)
    with ThreadPoolExecutor(max_workers=slots) as pool:
        while waiting or running:
            for name, (needs, job) in list(waiting.items()):
                if not set(needs) <= done:
                    continue
                if sum(width[n] for n in running.values()) + width[name] > slots:
                    break  # the first ready job waits for its threads; none jumps the queue
                log(f"start {name}")
                running[pool.submit(job)] = name
                del waiting[name]
            if not running:
                raise SystemExit(f"cannot start {', '.join(waiting)}: they need one another")
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                name = running.pop(future)
                try:
                    future.result()  # a failed job stops the check here
                except BaseException:
                    if running:  # the pool waits for them before the error surfaces
                        log(f"{name} failed; waiting for {', '.join(running.values())} to end")
                    raise
                done.add(name)


# --- figures ------------------------------------------------------------------------------
def held_out(out: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """The held-out items by (benchmark, id), as the evaluation named them."""
    items = {}
    for path in sorted((out / "data" / "eval").glob("*.jsonl")):
        for row in read_jsonl(path):
            items[(path.stem, row["id"])] = row
    return items


def records(folder: Path) -> list[dict[str, Any]]:
    """An arm's answers, each scored again by the rewards of this checkout: every arm is then
    measured by the same rewards, whenever its evaluation ran."""
    from clinr1.rewards import score_completion

    items = held_out(folder.parent.parent)
    # one folder per benchmark, in BENCHMARKS order; runs before 2026-12-03 wrote one file
    files = [folder / b / "generations.jsonl" for b in BENCHMARKS if (folder / b).is_dir()]
    files = files or [folder / "generations.jsonl"]
    rows = [row for path in files for row in read_jsonl(path)]
    for r in rows:
        item = items.get((r["benchmark"], r["id"]))
        if item is not None:
            r["scores"] = score_completion(r["completion"], item)
    return rows


def mean_ci(values: list[float]) -> dict[str, float]:
    """Mean and a normal-approximation 95 % interval (Wilson for 0/1 values)."""
    n = len(values)
    if not n:
        return {"mean": float("nan"), "lo": float("nan"), "hi": float("nan")}
    m = statistics.fmean(values)
    if set(values) <= {0.0, 1.0}:
        z = 1.96
        centre = (m + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(m * (1 - m) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return {"mean": m, "lo": max(0.0, centre - half), "hi": min(1.0, centre + half)}
    sd = statistics.stdev(values) if n > 1 else 0.0
    half = 1.96 * sd / math.sqrt(n)
    return {"mean": m, "lo": max(0.0, m - half), "hi": min(1.0, m + half)}


def arm_figures(folder: Path, cap: int | None = None) -> dict[str, Any]:
    rows = records(folder)
    out: dict[str, Any] = {"n_items": len(rows)}
    tokens = [int(r.get("tokens") or 0) for r in rows]
    if cap:
        # An answer that reached the token cap, or was stopped in a loop (--stop-loops), was
        # cut off: no box, so every reward pays 0 for it. Whether an arm reasons better, or
        # only finishes more often, shows on the rest.
        cut = [t >= cap or bool(r.get("looped")) for r, t in zip(rows, tokens, strict=True)]
        out["reached_cap"] = mean_ci([float(c) for c in cut])
        ended = [r for r, c in zip(rows, cut, strict=True) if not c]
        out["ended"] = {"n_items": len(ended)} | {
            k: mean_ci([float(r["scores"].get(k, 0.0)) for r in ended])
            for k in ("faithfulness", "comprehensiveness")
        }
    for key in (*OBJECTIVES, *SUBSCORES):
        out[key] = mean_ci([float(r["scores"].get(key, 0.0)) for r in rows])
    out["accuracy"] = mean_ci([float(bool(r["correct"])) for r in rows])  # the extractor's read
    out["boxed_accuracy"] = mean_ci([float(r["scores"].get("accuracy", 0.0)) for r in rows])
    out["completion_tokens"] = {"mean": statistics.fmean(tokens) if tokens else 0.0}
    out["by_benchmark"] = {}
    for bench in sorted({r["benchmark"] for r in rows}):
        sub = [r for r in rows if r["benchmark"] == bench]
        out["by_benchmark"][bench] = {
            "n_items": len(sub),
            **{
                k: statistics.fmean(float(r["scores"].get(k, 0.0)) for r in sub)
                for k in ("faithfulness", "comprehensiveness")
            },
            "accuracy": statistics.fmean(float(bool(r["correct"])) for r in sub),
        }
    return out


def curves(out: Path, png: Path) -> dict[str, dict[str, list[float]]]:
    """Each RL arm's per-objective training reward by step, drawn into ``png``."""
    from clinr1.runlog import read_metrics

    series: dict[str, dict[str, list[float]]] = {}
    for arm in ("grpo", "crpo"):
        logs = [r for r in read_metrics(out / arm / "metrics.jsonl") if "reward" in r]
        series[arm] = {
            obj: [float(r.get(f"rewards/{obj}/mean", float("nan"))) for r in logs]
            for obj in ("accuracy", "faithfulness", "comprehensiveness")
        }
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, obj in zip(axes, ("accuracy", "faithfulness", "comprehensiveness"), strict=True):
        for arm, colour in (("grpo", "tab:blue"), ("crpo", "tab:red")):
            values = series[arm][obj]
            ax.plot(range(1, len(values) + 1), values, color=colour, alpha=0.35, lw=1)
            k = 4
            smooth = [
                statistics.fmean(values[max(0, i - k + 1) : i + 1]) for i in range(len(values))
            ]
            ax.plot(range(1, len(values) + 1), smooth, color=colour, lw=2, label=arm.upper())
        ax.set_title(f"{obj} (training samples)")
        ax.set_xlabel("step")
        ax.set_ylim(-0.02, 1.02)
    axes[0].legend()
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)
    return series


def samples(out: Path, path: Path, n: int = 10) -> None:
    """The first ``n`` held-out answers of each arm, with their scores, side by side."""
    lines = ["# Real learning check: sample answers", ""]
    for arm in ARMS:
        lines += [f"## {arm}", ""]
        for r in records(out / "eval" / arm)[:n]:
            s = r["scores"]
            lines.append(
                f"### {r['benchmark']} {r['id']} — gold {r.get('gold')}, read "
                f"{r.get('extracted')}, F {s.get('faithfulness', 0):.2f}, "
                f"C {s.get('comprehensiveness', 0):.2f}"
            )
            lines += ["", "```text", r["completion"].strip(), "```", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


PAIRS = (("crpo", "grpo"), ("crpo", "sft"), ("grpo", "sft"))


def paired(out: Path) -> dict[str, dict[str, dict[str, float]]]:
    """Per-item differences between arms on the same held-out items ("crpo-grpo": CRPO minus
    GRPO), each with a 95 % interval: tighter than comparing two arms' own intervals."""
    by_arm = {
        arm: {(r["benchmark"], r["id"]): r for r in records(out / "eval" / arm)} for arm in ARMS
    }
    result: dict[str, dict[str, dict[str, float]]] = {}
    for a, b in PAIRS:
        common = sorted(set(by_arm[a]) & set(by_arm[b]))
        result[f"{a}-{b}"] = {}
        for key in ("accuracy", "faithfulness", "comprehensiveness", "format"):

            def value(r: dict[str, Any], key: str = key) -> float:
                return float(bool(r["correct"])) if key == "accuracy" else r["scores"][key]

            diffs = [value(by_arm[a][k]) - value(by_arm[b][k]) for k in common]
            n = len(diffs)
            mean = statistics.fmean(diffs) if n else float("nan")
            half = 1.96 * statistics.stdev(diffs) / math.sqrt(n) if n > 1 else float("nan")
            result[f"{a}-{b}"][key] = {"mean": mean, "lo": mean - half, "hi": mean + half, "n": n}
    return result


def table(figures: dict[str, dict[str, Any]]) -> str:
    keys = ["accuracy", "faithfulness", "comprehensiveness", *SUBSCORES, "format"]
    head = "| metric | " + " | ".join(figures) + " |"
    rows = [head, "|---" * (len(figures) + 1) + "|"]
    for key in keys:
        cells = []
        for fig in figures.values():
            c = fig[key]
            cells.append(f"{c['mean']:.3f} [{c['lo']:.2f}, {c['hi']:.2f}]")
        rows.append(f"| {key} | " + " | ".join(cells) + " |")
    tokens = " | ".join(f"{f['completion_tokens']['mean']:.0f}" for f in figures.values())
    rows.append(f"| completion tokens (mean) | {tokens} |")
    if all("reached_cap" in f for f in figures.values()):
        cells = " | ".join(f"{f['reached_cap']['mean']:.2f}" for f in figures.values())
        rows.append(f"| cut off (token cap, or a loop) | {cells} |")
        for key in ("faithfulness", "comprehensiveness"):
            cells = " | ".join(
                f"{f['ended'][key]['mean']:.3f} (n {f['ended']['n_items']})"
                for f in figures.values()
            )
            rows.append(f"| {key}, answers that ended | {cells} |")
    rows.append("| items | " + " | ".join(str(f["n_items"]) for f in figures.values()) + " |")
    return "\n".join(rows)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="cpu")
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default=str(ROOT / "outputs" / "real-learning-check"))
    parser.add_argument("--results", default=str(RESULTS), help="where the figures are written")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=N",
                        help="change a scale value, e.g. rl_steps=24 or rl_lr=1e-4")  # fmt: skip
    parser.add_argument("--arm-set", dest="arm_sets", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="a recipe override for both RL arms alike, e.g. "
                        "grpo.learning_rate=5e-5")  # fmt: skip
    parser.add_argument("--parallel", type=int, default=1, metavar="N",
                        help="CPU threads for the stages: SFT takes them all, then the arms "
                        "and the evaluations run side by side, one thread each (2 on a 2-core "
                        "CPU)")  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    scale = dict(SCALES[args.scale])
    for item in args.overrides:
        key, _, value = item.partition("=")
        if key not in scale:
            parser.error(f"--set {key}: not a scale value ({', '.join(scale)})")
        try:  # each value keeps its type: steps and counts are whole numbers, rl_lr is not
            scale[key] = type(scale[key])(value)
        except ValueError:
            kind = "a whole number" if isinstance(scale[key], int) else "a number"
            parser.error(f"--set {key}={value}: {key} takes {kind}")
        least = "above" if key == "rl_lr" else "at least"  # 0 steps are allowed, a 0 lr is not
        if not math.isfinite(scale[key]) or scale[key] < 0 or (key == "rl_lr" and not scale[key]):
            parser.error(f"--set {key}={value}: {key} must be finite and {least} 0")
    if args.parallel < 1:
        parser.error(f"--parallel {args.parallel}: at least 1")
    out = Path(args.out)
    started = time.time()
    log(f"real learning check: {args.model}, scale {args.scale} {scale}, out {out}")
    run_stages(out, args.model, scale, args.seed, args.arm_sets, args.parallel)
    results = Path(args.results)
    figures = {arm: arm_figures(out / "eval" / arm, scale["tokens"]) for arm in ARMS}
    differences = paired(out)
    series = curves(out, results / "real_learning_check.png")
    samples(out, results / "real_learning_check_samples.md")
    walls = {}
    for stage in ("sft", "grpo", "crpo"):
        run = out / stage / "run.json"
        if run.exists():
            walls[stage] = json.loads(run.read_text(encoding="utf-8")).get("wall_time_s")
    record = {
        "model": args.model,
        "scale": args.scale,
        "settings": scale,
        "arm_overrides": args.arm_sets,
        "parallel": args.parallel,
        "seed": args.seed,
        "arms": figures,
        "paired": differences,
        "training_curves": series,
        "stage_wall_s": walls,
        "wall_s": round(time.time() - started, 1),
    }
    (results / "real_learning_check.json").write_text(json.dumps(record, indent=2) + "\n")
    print("\n" + table(figures))
    for pair, diffs in differences.items():
        cells = ", ".join(
            f"{k} {d['mean']:+.3f} [{d['lo']:+.2f}, {d['hi']:+.2f}]" for k, d in diffs.items()
        )
        print(f"{pair} (paired, same items): {cells}")
    print(f"\nfigures in {results}; wall {record['wall_s']:.0f} s this run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
