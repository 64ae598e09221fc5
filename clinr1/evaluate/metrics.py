"""Aggregate per-generation records into one benchmark's metrics (the keys of ``summary.json``).

Every record holds the lenient ``extracted`` letter, ``correct``, the completion length in
``tokens`` and ``scores``: the output of :func:`clinr1.rewards.score_completion`, the same reward
code that training optimises. The definitions are in ``docs/evaluation.md``; :data:`METRICS`
documents each key and how ``clinr1 compare`` prints it.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

Z95 = 1.959963984540054

# key -> (kind, definition). kind: "pct" (a rate, printed x100), "score" (mean in [0, 1]),
# "count" (mean count per completion), "n" (an integer), "tokens".
METRICS: dict[str, tuple[str, str]] = {
    "n_items": ("n", "items evaluated"),
    "n_generations": ("n", "completions scored (items x samples)"),
    "accuracy": ("pct", "extracted letter == gold letter, over all completions"),
    "accuracy_ci_low": ("pct", "95% Wilson score interval, lower bound"),
    "accuracy_ci_high": ("pct", "95% Wilson score interval, upper bound"),
    "pass@k": ("pct", "items with at least one correct sample (samples > 1)"),
    "maj@k": ("pct", "items whose majority-vote letter is correct (samples > 1)"),
    "accuracy_strict": ("pct", "the training accuracy reward: exactly one \\boxed{gold}"),
    "extraction_failures": ("n", "completions from which no letter could be extracted"),
    "extraction_failure_rate": ("pct", "extraction_failures / n_generations"),
    "format": ("score", "mean format reward (sections, single box, nothing outside)"),
    "format_compliance": ("pct", "completions with a perfect format reward"),
    "format/sections": ("score", "the template's sections open and close once, in order"),
    "format/single_box": ("score", "exactly one \\boxed, inside the conclusion"),
    "format/nothing_outside": ("score", "at most a few words outside the sections"),
    "faithfulness": ("score", "mean rule-based faithfulness reward"),
    "faithfulness/consistency": (
        "score",
        "answer consistency: <dx> and conclusion agree with the box",
    ),
    "faithfulness/grounding": ("score", "quote precision x saturation of grounded quotes"),
    "faithfulness/citation": ("score", "the conclusion cites a grounded quote"),
    "faithfulness/quote_precision": ("score", "grounded / (grounded + fabricated) quotes"),
    "faithfulness/stem_copy": ("pct", "completions whose quotes copy most of the case"),
    "faithfulness/grounded_quotes": (
        "count",
        "evidence-citation density: quotes found verbatim in the case, per completion",
    ),
    "faithfulness/fabricated_quotes": (
        "count",
        "quotes found nowhere in the prompt, per completion",
    ),
    "faithfulness/fabricated_quote_rate": (
        "pct",
        "fabricated / (grounded + fabricated) quotes, pooled: a hallucination proxy",
    ),
    "comprehensiveness": ("score", "mean rule-based comprehensiveness reward"),
    "comprehensiveness/distractor_coverage": (
        "score",
        "wrong options the <dx> rules out with a reason, over all wrong options",
    ),
    "comprehensiveness/behaviours": ("score", "mean of the four behaviour credits"),
    "comprehensiveness/verification": ("score", "verification credited (0/1 per completion)"),
    "comprehensiveness/backtracking": ("score", "backtracking credited (0/1 per completion)"),
    "comprehensiveness/subgoal": ("score", "subgoal setting credited (0/1 per completion)"),
    "comprehensiveness/backward_chaining": ("score", "backward chaining credited (0/1)"),
    "counts/options_assessed": ("count", "options the <dx> assesses, per completion"),
    "counts/options_ruled_out": ("count", "wrong options ruled out with a reason, per completion"),
    "counts/verification": ("count", "verification steps per completion"),
    "counts/backtracking": ("count", "backtracking steps per completion"),
    "counts/subgoal": ("count", "subgoal-setting steps per completion"),
    "counts/backward_chaining": ("count", "backward-chaining steps per completion"),
    "reward_total": ("score", "mean weighted total reward, as in training (max 12)"),
    "completion_tokens": ("tokens", "mean completion length in generated tokens"),
    "judge/n": ("n", "completions sent to the judge"),
    "judge/failures": ("n", "judge calls that failed after their retries"),
    "judge/verification": ("count", "judge: verification instances per completion"),
    "judge/backtracking": ("count", "judge: backtracking instances per completion"),
    "judge/subgoal": ("count", "judge: subgoal-setting instances per completion"),
    "judge/backward_chaining": ("count", "judge: backward-chaining instances per completion"),
    "judge/faithfulness": ("score", "judge: faithfulness score / 10"),
}

# score_completion keys stored under another name in the summary (the rest keep theirs).
_RENAME = {"accuracy": "accuracy_strict", "total": "reward_total"}
_SKIP = frozenset({"extracted", "boxed"})


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion (95 % by default).

    >>> [round(x, 4) for x in wilson_interval(50, 100)]
    [0.4038, 0.5962]
    >>> wilson_interval(0, 0)
    (0.0, 0.0)
    """
    if n <= 0:
        return 0.0, 0.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def aggregate(records: list[dict[str, Any]], samples: int = 1) -> dict[str, Any]:
    """One benchmark's metrics from its generation records (see :data:`METRICS`)."""
    n = len(records)
    correct = sum(bool(r.get("correct")) for r in records)
    low, high = wilson_interval(correct, n)
    failures = sum(r.get("extracted") is None for r in records)
    out: dict[str, Any] = {
        "n_items": len({r["id"] for r in records}),
        "n_generations": n,
        "accuracy": correct / n if n else 0.0,
        "accuracy_ci_low": low,
        "accuracy_ci_high": high,
    }
    if samples > 1:
        by_item: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in sorted(records, key=lambda r: (r["id"], r["sample"])):
            by_item[r["id"]].append(r)
        out["pass@k"] = _mean([float(any(r["correct"] for r in rs)) for rs in by_item.values()])
        votes = []
        for rs in by_item.values():
            letters = Counter(r["extracted"] for r in rs if r.get("extracted"))
            top = letters.most_common(1)[0][0] if letters else None  # ties: first sample wins
            votes.append(float(top is not None and top == rs[0].get("gold")))
        out["maj@k"] = _mean(votes)
    out["extraction_failures"] = failures
    out["extraction_failure_rate"] = failures / n if n else 0.0

    # Every numeric output of score_completion, averaged over the completions (bools as rates).
    scores = [r.get("scores") or {} for r in records]
    sums: dict[str, list[float]] = defaultdict(list)
    for s in scores:
        for key, value in s.items():
            if key not in _SKIP and (v := _number(value)) is not None:
                sums[_RENAME.get(key, key)].append(v)
    for key, values in sums.items():
        out[key] = _mean(values)
    if "format" in sums:
        out["format_compliance"] = _mean([float(v >= 1.0 - 1e-9) for v in sums["format"]])
    if "faithfulness/grounded_quotes" in sums and "faithfulness/fabricated_quotes" in sums:
        grounded = sum(sums["faithfulness/grounded_quotes"])
        fabricated = sum(sums["faithfulness/fabricated_quotes"])
        total = grounded + fabricated
        out["faithfulness/fabricated_quote_rate"] = fabricated / total if total else 0.0
    tokens = [float(r["tokens"]) for r in records if isinstance(r.get("tokens"), (int, float))]
    out["completion_tokens"] = _mean(tokens) if tokens else 0.0
    return out


def aggregate_judge(judged: list[dict[str, Any]], keys: Iterable[str]) -> dict[str, Any]:
    """``judge/...`` metrics: the mean of each judged quantity over its successful calls."""
    out: dict[str, Any] = {"judge/n": len(judged)}
    failures = 0
    for key in keys:
        values = [float(j[key]) for j in judged if _number(j.get(key)) is not None]
        failures += sum(_number(j.get(key)) is None for j in judged)
        out[f"judge/{key}"] = _mean(values)
    out["judge/failures"] = failures
    return out


def format_value(key: str, value: Any, *, signed: bool = False) -> str:
    """A metric value as ``clinr1 compare`` and ``report.md`` print it (``signed``: a change)."""
    if value is None:
        return "–"
    kind = METRICS.get(key, ("score", ""))[0]
    sign = "+" if signed else ""
    if kind == "n":
        return f"{int(value):{sign}d}"
    if kind == "pct":
        return f"{100 * float(value):{sign}.2f}"
    if kind in ("count", "tokens"):
        return f"{float(value):{sign}.1f}" if kind == "tokens" else f"{float(value):{sign}.2f}"
    return f"{float(value):{sign}.3f}"


def metric_order(keys: Iterable[str]) -> list[str]:
    """Known metrics in :data:`METRICS` order, then any others alphabetically."""
    keys = set(keys)
    known = [k for k in METRICS if k in keys]
    return known + sorted(keys - set(METRICS))
