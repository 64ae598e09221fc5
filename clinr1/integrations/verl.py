"""The CRPO rewards inside verl: a ``custom_reward_function`` and verl's RL parquet rows.

verl (volcengine/verl) calls a custom reward once per response as
``compute_score(data_source=..., solution_str=..., ground_truth=..., extra_info=...)`` (plus any
``custom_reward_function.reward_kwargs``). A returned dict must carry the reward under ``"score"``;
its other keys go to ``reward_extra_info`` and are logged per data source during validation
(``val-core/<data_source>/<key>/mean@N``), so every key is present, numeric, on every call.

The rows :func:`verl_rows` writes carry what the reward needs to rebuild the item: the gold
letter in ``reward_model.ground_truth`` and, in ``extra_info``, the question, the context and the
options as JSON text (one string column, so 4-, 5- and 10-option rows share one parquet schema).
The score is :func:`clinr1.rewards.score_completion`, the function behind ``clinr1 score``, with
the same weights: what verl optimises is what ``clinr1 eval`` measures.

This file imports only the standard library and clinr1's pure modules, and uses absolute imports
only: verl loads it by file path (``custom_reward_function.path``), outside any package.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from clinr1.items import Item, as_options
from clinr1.prompts import check_template, render_messages
from clinr1.rewards import DEFAULT_WEIGHTS, OBJECTIVES, score_completion

# The per-objective parts returned next to ``score`` (verl logs each as an extra metric).
PARTS: tuple[str, ...] = OBJECTIVES
ABILITY = "medicine"
DATA_SOURCE_PREFIX = "clinr1/"


def compute_score(
    data_source: str | None,
    solution_str: str,
    ground_truth: str,
    extra_info: Mapping[str, Any] | None = None,
    *,
    template: str | None = None,
    weights: Mapping[str, float] | None = None,
    **_: Any,
) -> dict[str, float]:
    """The weighted CRPO total of one response, and each objective, for verl.

    ``score`` = Σ weight_k × objective_k over accuracy, format, faithfulness and
    comprehensiveness, with ``clinr1 score``'s default weights (10, 0, 1, 1: range 0 to 12).
    ``template`` and ``weights`` can be set through verl's
    ``custom_reward_function.reward_kwargs``; otherwise the template comes from
    ``extra_info["template"]`` (default ``crpo``). Extra keyword arguments verl may pass are
    ignored. Never raises: a row it cannot read scores 0 on every key.

    >>> info = {"question": "Q?", "options": '{"A": "x", "B": "y"}', "template": "crpo"}
    >>> text = "<dx></dx><conclusion>\\\\boxed{B}</conclusion>"
    >>> s = compute_score("clinr1/demo", text, "B", info)
    >>> s["score"], s["accuracy"]
    (10.0, 1.0)
    """
    try:
        info = extra_info if isinstance(extra_info, Mapping) else {}
        tmpl = template or str(info.get("template") or "crpo")
        scores = score_completion(
            solution_str if isinstance(solution_str, str) else str(solution_str or ""),
            item_from_verl(ground_truth, info),
            tmpl,
            DEFAULT_WEIGHTS if weights is None else weights,
        )
        out = {"score": float(scores["total"])}
        out.update({k: float(scores[k]) for k in PARTS})
        return out
    except Exception:
        return {"score": 0.0, **dict.fromkeys(PARTS, 0.0)}


def item_from_verl(ground_truth: Any, extra_info: Mapping[str, Any] | None) -> dict[str, Any]:
    """The unified-schema item a verl row stands for (what :func:`score_completion` reads)."""
    info = extra_info if isinstance(extra_info, Mapping) else {}
    return {
        "id": str(info.get("id") or ""),
        "question": str(info.get("question") or ""),
        "options": as_options(info.get("options")),
        "answer": str(ground_truth or "").strip().upper(),
        "context": info.get("context") or None,
    }


def verl_row(
    item: Item, index: int, *, template: str = "crpo", split: str = "train"
) -> dict[str, Any]:
    """One row of verl's RL dataset schema for ``item``.

    ``data_source`` is ``clinr1/<source>`` (so verl's built-in scorers, keyed by data source,
    never claim it), ``prompt`` the chat messages clinr1 trains on, ``reward_model`` the rule
    style with the gold letter, ``extra_info`` what :func:`compute_score` rebuilds the item from.
    """
    return {
        "data_source": f"{DATA_SOURCE_PREFIX}{item.source}",
        "prompt": render_messages(item, template),
        "ability": ABILITY,
        "reward_model": {"style": "rule", "ground_truth": item.answer},
        "extra_info": {
            "split": split,
            "index": index,
            "id": item.id,
            "question": item.question,
            "context": item.context or "",
            "options": json.dumps(item.options, ensure_ascii=False),
            "answer_text": item.answer_text,
            "template": template,
        },
    }


def verl_rows(
    items: Iterable[Item], *, template: str = "crpo", split: str = "train"
) -> list[dict[str, Any]]:
    """:func:`verl_row` for each item, indexed from 0."""
    check_template(template)
    return [verl_row(it, i, template=template, split=split) for i, it in enumerate(items)]


def write_parquet(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write verl rows to ``path`` (parent folders created); return the path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), out)
    return out
