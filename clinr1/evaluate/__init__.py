"""Evaluation: the paper's benchmarks, every CRPO objective measured, resumable; and compare.

Light to import (no torch): the model is loaded inside :func:`run_eval` only when something is
left to generate.

>>> from clinr1.evaluate import run_eval, compare_tables, render_markdown  # doctest: +SKIP
>>> before = run_eval("tiny-random-qwen2", benchmarks=["demo"], out="outputs/eval/before")
"""

from clinr1.evaluate.benchmarks import BENCHMARKS, Benchmark, BenchmarkError, parse_benchmarks
from clinr1.evaluate.compare import (
    PAPER_ACCURACY,
    CompareError,
    compare_tables,
    load_summary,
    render_markdown,
)
from clinr1.evaluate.judge import JudgeSettings
from clinr1.evaluate.metrics import METRICS, wilson_interval
from clinr1.evaluate.run import render_report, run_eval
from clinr1.evaluate.settings import EvalError, EvalPlan, EvalSettings, plan_eval

__all__ = [
    "BENCHMARKS",
    "METRICS",
    "PAPER_ACCURACY",
    "Benchmark",
    "BenchmarkError",
    "CompareError",
    "EvalError",
    "EvalPlan",
    "EvalSettings",
    "JudgeSettings",
    "compare_tables",
    "load_summary",
    "parse_benchmarks",
    "plan_eval",
    "render_markdown",
    "render_report",
    "run_eval",
    "wilson_interval",
]
