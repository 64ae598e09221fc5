"""``clinr1 compare``: evaluation runs side by side, with the paper's numbers for reference.

One table, a row per (benchmark, metric) and a column per run; when exactly two runs are
compared a ``Δ`` column gives the second minus the first. Under each of the paper's benchmarks
that the runs measured, the accuracies the paper reports follow as reference rows, each labelled
with how the paper read the answer (:data:`PAPER_ROWS`): none of them is measured the way clinr1
measures accuracy. Runs whose generation settings or data differ are compared with a warning.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clinr1.evaluate.metrics import METRICS, format_value, metric_order


@dataclass(frozen=True)
class PaperRow:
    """One model of the paper's accuracy table (%), and how its answers were read."""

    model: str
    accuracy: dict[str, float]
    extraction: str  # a key of EXTRACTION


# Accuracy (%) reported on MedQA / MedMCQA / MedXpertQA (arXiv 2512.00601), all Qwen2.5-3B-Instruct.
PAPER_ROWS: tuple[PaperRow, ...] = (
    PaperRow(
        "Qwen2.5-3B-Instruct CoT",
        {"medqa": 41.95, "medmcqa": 46.78, "medxpertqa": 10.51},
        "judged",
    ),
    PaperRow("GRPO-3B", {"medqa": 50.35, "medmcqa": 49.87, "medxpertqa": 12.64}, "boxed"),
    PaperRow("CRPO-3B", {"medqa": 52.41, "medmcqa": 55.13, "medxpertqa": 14.88}, "boxed"),
    PaperRow(
        "cold start + GRPO-3B",
        {"medqa": 51.07, "medmcqa": 48.86, "medxpertqa": 12.64},
        "boxed",
    ),
    PaperRow(
        "Clinical-R1-3B (cold start + CRPO)",
        {"medqa": 53.07, "medmcqa": 58.10, "medxpertqa": 16.14},
        "boxed",
    ),
)
# How the paper's public evaluation code (BoyangGu1/Clinical-R1-3B, evaluation/) read answers.
EXTRACTION = {
    "judged": "the answer letter read by an LLM (Llama-3.1-8B-Instruct), not by a rule",
    "boxed": "the single \\boxed{} letter, over the answers that had exactly one (re-sampled at "
    "temperature 0.8 until 98% did)",
}
# The same numbers by model, as before (Clinical-R1-3B under its short name).
PAPER_ACCURACY: dict[str, dict[str, float]] = {
    row.model.split(" (")[0]: dict(row.accuracy) for row in PAPER_ROWS
}
# Settings that change what a completion is or which items count; runs that differ are warned of.
_COMPARED_SETTINGS = ("samples", "temperature", "top_p", "max_new_tokens", "seed", "backend")


class CompareError(ValueError):
    """A run folder without a readable summary, or an unknown metric; the message is one line."""


def load_summary(path: str | Path) -> dict[str, Any]:
    """``summary.json`` of a run folder (or the file itself)."""
    p = Path(path)
    file = p / "summary.json" if p.is_dir() else p
    if not file.is_file():
        raise CompareError(f"{path}: no summary.json (not an evaluation folder, or unfinished)")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except ValueError:
        raise CompareError(f"{file}: not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), dict):
        raise CompareError(f"{file}: not a clinr1 evaluation summary (no 'benchmarks')")
    return data


def _labels(paths: Sequence[str | Path], labels: Sequence[str] | None) -> list[str]:
    if labels:
        if len(labels) != len(paths):
            raise CompareError(f"{len(labels)} labels for {len(paths)} runs")
        return list(labels)
    names = [Path(p).name or str(p) for p in paths]
    if len(set(names)) == len(names):
        return names
    return [str(p) for p in paths]


def compare_tables(
    paths: Sequence[str | Path],
    *,
    labels: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    reference: bool = True,
) -> dict[str, Any]:
    """Gather runs into rows: ``{"runs": [...], "rows": [{benchmark, metric, values, ...}],
    "warnings": [...]}``.

    ``values`` maps a run label to the raw metric value (``None`` where a run lacks it);
    reference rows have ``"reference": MODEL``, ``"extraction"`` (how the paper read answers) and
    the paper's accuracy as a fraction, and appear only under the paper's benchmarks that the runs
    measured. A metric name that no run has and clinr1 does not know is a ``CompareError``.
    """
    if not paths:
        raise CompareError("nothing to compare: give one or more evaluation folders")
    summaries = [load_summary(p) for p in paths]
    names = _labels(paths, labels)
    runs = [
        {
            "label": name,
            "path": str(p),
            "model": s.get("model"),
            "adapter": s.get("adapter"),
            "template": s.get("template"),
        }
        for name, p, s in zip(names, paths, summaries, strict=True)
    ]
    benchmarks: list[str] = []
    for s in summaries:
        benchmarks += [b for b in s["benchmarks"] if b not in benchmarks]
    present = {k for s in summaries for m in s["benchmarks"].values() for k in m}
    if metrics:
        unknown = [m for m in metrics if m not in present and m not in METRICS]
        if unknown:
            raise CompareError(
                f"unknown metric {', '.join(map(repr, unknown))}; the runs have: "
                + ", ".join(metric_order(present))
            )
    rows: list[dict[str, Any]] = []
    for bench in benchmarks:
        keys = set()
        for s in summaries:
            keys |= set(s["benchmarks"].get(bench, {}))
        ordered = metric_order(keys)
        if metrics:
            ordered = [m for m in metrics if m in keys]
        for key in ordered:
            values = {
                n: s["benchmarks"].get(bench, {}).get(key)
                for n, s in zip(names, summaries, strict=True)
            }
            rows.append({"benchmark": bench, "metric": key, "values": values})
        if reference and (not metrics or "accuracy" in metrics):
            for paper in PAPER_ROWS:
                if bench in paper.accuracy:
                    rows.append(
                        {
                            "benchmark": bench,
                            "metric": "accuracy",
                            "reference": paper.model,
                            "extraction": paper.extraction,
                            "value": paper.accuracy[bench] / 100,
                        }
                    )
    return {
        "runs": runs,
        "rows": rows,
        "warnings": setting_differences(summaries, names, benchmarks),
        "paper": "arXiv 2512.00601",
    }


def setting_differences(
    summaries: Sequence[dict[str, Any]], names: Sequence[str], benchmarks: Sequence[str]
) -> list[str]:
    """One line per setting in which the runs differ (template, sampling, data, items)."""
    out = []

    def differ(what: str, values: dict[str, Any]) -> None:
        shown = {n: v for n, v in values.items() if v is not None}
        if len({json.dumps(v, sort_keys=True) for v in shown.values()}) > 1:
            listed = ", ".join(f"{n}: {v}" for n, v in shown.items())
            out.append(f"the runs differ in {what} ({listed})")

    if len(summaries) < 2:
        return out
    differ("template", {n: s.get("template") for n, s in zip(names, summaries, strict=True)})
    for key in _COMPARED_SETTINGS:
        differ(
            key,
            {n: (s.get("settings") or {}).get(key) for n, s in zip(names, summaries, strict=True)},
        )
    for bench in benchmarks:
        having = [(n, s) for n, s in zip(names, summaries, strict=True) if bench in s["benchmarks"]]
        differ(
            f"{bench} items",
            {n: s["benchmarks"][bench].get("n_items") for n, s in having},
        )
        differ(
            f"{bench} data",
            {n: ((s.get("data") or {}).get(bench) or {}).get("origin") for n, s in having},
        )
    return out


def _delta(key: str, a: Any, b: Any) -> str:
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return ""
    return format_value(key, float(b) - float(a), signed=True)


def render_markdown(table: dict[str, Any]) -> str:
    """The table of :func:`compare_tables` as markdown (rates in %, like the paper)."""
    labels = [r["label"] for r in table["runs"]]
    two = len(labels) == 2
    header = ["benchmark", "metric", *labels] + (["Δ"] if two else [])
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join([":--", ":--"] + ["--:"] * (len(header) - 2)) + "|",
    ]
    used: list[str] = []
    for row in table["rows"]:
        key = row["metric"]
        shown = f"{key} (%)" if METRICS.get(key, ("",))[0] == "pct" else key
        if "reference" in row:
            how = row.get("extraction", "")
            used += [how] if how and how not in used else []
            value = format_value(key, row["value"])
            note = f" ({how})" if how else ""
            cells = [row["benchmark"], f"↳ paper: {row['reference']} {shown}{note}"]
            cells += [f"*{value}*"] * len(labels) + ([""] if two else [])
        else:
            values = [row["values"][label] for label in labels]
            cells = [row["benchmark"], shown, *(format_value(key, v) for v in values)]
            if two:
                cells.append(_delta(key, values[0], values[1]))
        lines.append("| " + " | ".join(cells) + " |")
    runs = "; ".join(
        f"{r['label']} = {r['model']}" + (f" + {r['adapter']}" if r.get("adapter") else "")
        for r in table["runs"]
    )
    lines.append("")
    lines.append(f"Runs: {runs}.")
    if used:
        legend = "; ".join(f"{how}: {EXTRACTION[how]}" for how in used if how in EXTRACTION)
        lines.append(
            f"Reference rows: accuracy as reported in {table['paper']}, not measured by clinr1 "
            f"(which reads the letter by rule and counts a missing one as wrong): {legend}."
        )
    for warning in table.get("warnings", []):
        lines.append(f"Warning: {warning}.")
    return "\n".join(lines) + "\n"
