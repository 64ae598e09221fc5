"""Learning check: does the demo's CRPO stage raise its rewards? (A benchmark, not a test.)

Runs the whole demo pipeline (tiny model -> cold-start SFT -> eval -> CRPO -> eval), as
``make demo`` does, once per seed into a fresh folder, and reports for each objective the mean of
the first and of the last ``--window`` CRPO logs, with the mean and spread across seeds, and the
greedy evaluation before and after CRPO. Each TRL log averages ``grpo.logging_steps`` steps; the
demo logs 15 times, so the default window of 5 compares the first and the last third. Results go
in ``benchmarks/RESULTS.md`` ("Learning check").

    OMP_NUM_THREADS=1 python benchmarks/learning_check.py --seeds 1 2 3 --json lc.json

About 4 minutes a seed on one core of a 2-vCPU VM; ``--parallel 2`` runs two seeds at once.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

OBJECTIVES = ["accuracy", "faithfulness", "comprehensiveness", "format"]
EVAL_KEYS = ["accuracy", "faithfulness", "comprehensiveness", "format", "reward_total"]


def trend(metrics: list[dict[str, Any]], window: int) -> dict[str, dict[str, float]]:
    """``{objective: {"first": mean of the first window logs, "last": ..., "change": ...}}``.

    The means are :func:`clinr1.runlog.trend`'s, over the logs that carry a reward.
    """
    from clinr1.runlog import trend as run_trend

    keys = {"total": "reward", **{n: f"rewards/{n}/mean" for n in OBJECTIVES}}
    keys |= {
        "frac_reward_zero_std": "frac_reward_zero_std",
        "clipped_ratio": "completions/clipped_ratio",
    }
    logs = [r for r in metrics if "reward" in r]
    found = run_trend(logs, list(keys.values()), window)
    return {
        name: {"first": t["start"], "last": t["end"], "change": t["end"] - t["start"]}
        for name, key in keys.items()
        if (t := found.get(key))
    }


def eval_scores(folder: Path) -> dict[str, float]:
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    bench = summary["benchmarks"]["demo"]
    return {k: float(bench[k]) for k in EVAL_KEYS if k in bench}


def run_seed(
    seed: int, out: Path, overrides: list[str], window: int, reuse: bool = False
) -> dict[str, Any]:
    """One demo run with ``train.seed=seed`` in a child process (a fresh torch per run).

    With ``reuse``, stages already finished in ``out`` are kept (the demo skips them).
    """
    from clinr1.runlog import read_metrics

    if out.exists() and not reuse:
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "clinr1", "demo", "--out", str(out)]
    for o in [*overrides, f"train.seed={seed}"]:
        args += ["--set", o]
    started = time.time()
    with open(out / "demo.log", "w", encoding="utf-8") as log:
        subprocess.run(args, stdout=log, stderr=subprocess.STDOUT, check=True)
    wall = time.time() - started
    stage_s = {
        stage: json.loads((out / stage / "run.json").read_text(encoding="utf-8"))["wall_time_s"]
        for stage in ("sft", "crpo")
    }
    return {
        "seed": seed,
        "wall_s": round(wall, 1),
        "stage_wall_s": stage_s,
        "crpo": trend(read_metrics(out / "crpo" / "metrics.jsonl"), window),
        "eval_before": eval_scores(out / "eval-before"),
        "eval_after": eval_scores(out / "eval-after"),
    }


def spread(values: list[float]) -> dict[str, float]:
    """Mean and sample standard deviation (0 for one seed)."""
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"mean": statistics.fmean(values), "sd": sd}


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and sample standard deviation across seeds of every figure."""
    crpo = {}
    for name in runs[0]["crpo"]:
        crpo[name] = {
            part: spread([r["crpo"][name][part] for r in runs])
            for part in ("first", "last", "change")
        }
    evals = {}
    for key in runs[0]["eval_before"]:
        evals[key] = {
            stage: spread([r[f"eval_{stage}"][key] for r in runs]) for stage in ("before", "after")
        }
    return {"crpo": crpo, "eval": evals}


def fmt(cell: dict[str, float]) -> str:
    return f"{cell['mean']:.3f} ± {cell['sd']:.3f}"


def print_report(runs: list[dict[str, Any]], summary: dict[str, Any], window: int) -> None:
    seeds = ", ".join(str(r["seed"]) for r in runs)
    print(f"\nCRPO rewards, first vs last {window} logs (mean ± sd over seeds {seeds})")
    print("| objective | first | last | change | change per seed |")
    print("|---|---|---|---|---|")
    for name, cells in summary["crpo"].items():
        per_seed = " ".join(f"{r['crpo'][name]['change']:+.2f}" for r in runs)
        label = "CRPO total (max 12)" if name == "total" else name
        print(f"| {label} | {fmt(cells['first'])} | {fmt(cells['last'])} | "
              f"{fmt(cells['change'])} | {per_seed} |")  # fmt: skip
    print("\nGreedy evaluation on the demo items, before vs after CRPO")
    print("| metric | before | after |")
    print("|---|---|---|")
    for key, cells in summary["eval"].items():
        print(f"| {key} | {fmt(cells['before'])} | {fmt(cells['after'])} |")
    walls = ", ".join(
        f"{r['wall_s']:.0f} (SFT {r['stage_wall_s']['sft']:.0f}, "
        f"CRPO {r['stage_wall_s']['crpo']:.0f})"
        for r in runs
    )
    print(f"\nwall time per seed (s): {walls}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--steps", type=int, help="CRPO steps (grpo.max_steps); recipe's if unset")
    parser.add_argument("--window", type=int, default=5, help="logs averaged at each end")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="demo recipe override (repeatable)")  # fmt: skip
    parser.add_argument("--out", help="keep the runs here (default: a temporary folder)")
    parser.add_argument("--reuse", action="store_true", help="keep finished stages in --out")
    parser.add_argument("--parallel", type=int, default=1, help="seeds run at once")
    parser.add_argument("--json", dest="json_out", help="write the figures as JSON here")
    args = parser.parse_args(argv)

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    overrides = list(args.overrides)
    if args.steps:
        overrides.append(f"grpo.max_steps={args.steps}")
    root = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="clinr1-learning-"))

    from concurrent.futures import ThreadPoolExecutor

    def one(seed: int) -> dict[str, Any]:
        run = run_seed(seed, root / f"seed-{seed}", overrides, args.window, args.reuse)
        total = run["crpo"]["total"]
        print(f"seed {seed}: CRPO total {total['first']:.3f} -> {total['last']:.3f} "
              f"({run['wall_s']:.0f} s)", flush=True)  # fmt: skip
        return run

    with ThreadPoolExecutor(max_workers=max(1, args.parallel)) as pool:
        runs = list(pool.map(one, args.seeds))
    summary = summarise(runs)
    print_report(runs, summary, args.window)
    if args.json_out:
        record = {"overrides": overrides, "window": args.window, "runs": runs, "summary": summary}
        Path(args.json_out).write_text(json.dumps(record, indent=2), encoding="utf-8")
    if not args.out:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
