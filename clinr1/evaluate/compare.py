"""``clinr1 compare``: evaluation runs side by side, with the paper's numbers for reference.

One table, a row per (benchmark, metric) and a column per run; when exactly two runs are
compared a ``Δ`` column gives the second minus the first. Under each of the paper's benchmarks
the accuracies the paper reports (Clinical-R1, Table 2) follow as reference rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clinr1.evaluate.metrics import METRICS, format_value, metric_order

# Accuracy (%) the paper reports on MedQA / MedMCQA / MedXpertQA (arXiv 2512.00601).
PAPER_ACCURACY: dict[str, dict[str, float]] = {
    "Clinical-R1-3B": {"medqa": 53.07, "medmcqa": 58.10, "medxpertqa": 16.14},
    "GRPO-3B": {"medqa": 50.35, "medmcqa": 49.87, "medxpertqa": 12.64},
    "Qwen2.5-3B-Instruct CoT": {"medqa": 41.95, "medmcqa": 46.78, "medxpertqa": 10.51},
}


class CompareError(ValueError):
    """A run folder without a readable summary; the message is one line."""


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
    """Gather runs into rows: ``{"runs": [...], "rows": [{benchmark, metric, values, ...}]}``.

    ``values`` maps a run label to the raw metric value (``None`` where a run lacks it);
    reference rows have ``"reference": MODEL`` and the paper's accuracy as a fraction.
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
            for model, accs in PAPER_ACCURACY.items():
                if bench in accs:
                    rows.append(
                        {
                            "benchmark": bench,
                            "metric": "accuracy",
                            "reference": model,
                            "value": accs[bench] / 100,
                        }
                    )
    return {"runs": runs, "rows": rows, "paper": "arXiv 2512.00601"}


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
    for row in table["rows"]:
        key = row["metric"]
        shown = f"{key} (%)" if METRICS.get(key, ("",))[0] == "pct" else key
        if "reference" in row:
            value = format_value(key, row["value"])
            cells = [row["benchmark"], f"↳ paper: {row['reference']} {shown}"]
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
    lines.append(f"Runs: {runs}. Reference rows: accuracy reported in {table['paper']}.")
    return "\n".join(lines) + "\n"
