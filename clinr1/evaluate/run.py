"""``run_eval``: generate, score, judge and summarise a model on benchmarks, resumably.

The story, top to bottom: resolve the model and benchmarks; check that ``OUT`` holds (if
anything) a run with the same settings; load the items; skip every ``(benchmark, id, sample)``
already in ``OUT/generations.jsonl``; generate the rest in batches, scoring each completion with
the training reward code and appending it as soon as its batch is done; optionally judge what is
not judged yet (``OUT/judge.jsonl``); aggregate and write ``OUT/summary.json`` and
``OUT/report.md`` atomically. Re-running the same command therefore only does what is missing,
and the model is not even loaded when nothing is.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clinr1.config import ModelConfig
from clinr1.console import Progress
from clinr1.evaluate.benchmarks import Benchmark, parse_benchmarks
from clinr1.evaluate.fingerprint import model_fingerprint, weights_fingerprint
from clinr1.evaluate.generate import Completion, Generator, Sampling, build_generator
from clinr1.evaluate.judge import JUDGE_KEYS, JudgeSettings, judge_many
from clinr1.evaluate.metrics import (
    METRICS,
    aggregate,
    aggregate_judge,
    format_value,
    metric_order,
)
from clinr1.evaluate.settings import EvalError, EvalSettings
from clinr1.evaluate.store import RecordStore, atomic_write, record_key
from clinr1.items import Item
from clinr1.prompts import check_template, render_messages

# Settings that change what a completion is, pinned in OUT/pinned.json; resuming into an OUT made
# with others is refused.
# The weights are pinned by their hash: an adapter trained again at the same path is another one.
PINNED_FILE = "pinned.json"
_PINNED = (
    "model",
    "adapter",
    "template",
    "temperature",
    "top_p",
    "max_new_tokens",
    "seed",
    "stop_loops",
    "model_weights",
    "adapter_weights",
)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _pinned_before(out: Path) -> dict[str, Any] | None:
    """What ``OUT/pinned.json`` pins (``None`` without one; ``{}`` when unreadable).

    Folders written before it had its own name hold the same record as ``run.json``.
    """
    for file in (out / PINNED_FILE, out / "run.json"):
        if file.is_file():
            try:
                previous = json.loads(file.read_text(encoding="utf-8")).get("pinned", {})
            except (ValueError, AttributeError):
                return {}
            return previous if isinstance(previous, dict) else {}
    return None


def _check_pinned(out: Path, pinned: dict[str, Any], records: int) -> None:
    """Refuse to mix completions of different settings, or of other weights, in one OUT.

    Only a folder that holds completions (``records``) is protected: a ``pinned.json`` left by a
    run that failed before generating anything does not block the corrected command.
    """
    previous = _pinned_before(out) if records else None
    if previous is None:
        return
    diff = [k for k in _PINNED if k in previous and previous[k] != pinned.get(k)]
    if not diff:
        return
    k = diff[0]
    fix = "use another --out (or delete that folder) so completions of different settings never mix"
    if k in ("model_weights", "adapter_weights"):
        what = "adapter" if k == "adapter_weights" else "model"
        raise EvalError(
            f"{out} holds {records} completions of {what} {pinned[what]} with other weights "
            f"({previous[k]} then, {pinned[k]} now; trained or replaced since): {fix}"
        )
    raise EvalError(f"{out} holds a run with {k}={previous[k]!r}, not {pinned[k]!r}: {fix}")


def _write_pinned(out: Path, pinned: dict[str, Any]) -> None:
    """Record what makes a completion, once the model and the data have loaded."""
    atomic_write(out / PINNED_FILE, json.dumps({"pinned": pinned}, indent=2) + "\n")


def _score(item: Item, completion: Completion, template: str) -> dict[str, Any]:
    """Extracted letter and reward scores of one completion (the training reward code).

    The letter is read by :func:`clinr1.rewards.extract_answer` in its lenient mode (an option's
    text counts as its letter); the scores are :func:`clinr1.rewards.score_completion`'s.
    """
    from clinr1.rewards import extract_answer, score_completion

    scores = score_completion(completion.text, item, template=template)
    extracted = extract_answer(completion.text, item.options, match_text=True)
    clean = {k: v for k, v in scores.items() if isinstance(v, (int, float, str, type(None)))}
    return {"extracted": extracted, "correct": extracted == item.answer, "scores": clean}


def _generate_benchmark(
    bench: Benchmark,
    items: list[Item],
    store: RecordStore,
    generator_factory: Callable[[], Generator],
    settings: EvalSettings,
    on_record: Callable[[dict[str, Any]], None] | None,
) -> int:
    """Generate and append every missing completion of ``bench``; return how many were made."""
    todo = [
        item
        for item in items
        if any((bench.name, item.id, s) not in store for s in range(settings.samples))
    ]
    done_before = len(items) - len(todo)
    if done_before:
        _log(f"{bench.name}: {done_before}/{len(items)} items already in {store.path.name}")
    if not todo:
        return 0
    generator = generator_factory()
    made, correct, start = 0, 0, time.monotonic()
    # vLLM schedules its own batches: hand it bigger chunks (records are written per chunk).
    chunk = max(1, getattr(generator, "chunk_size", None) or settings.batch_size)
    with Progress(bench.name, len(items), unit="items", done=done_before) as progress:
        for i in range(0, len(todo), chunk):
            batch = todo[i : i + chunk]
            prompts = [render_messages(item, settings.template) for item in batch]
            outputs = generator.generate(prompts, settings.samples)
            records = []
            for item, messages, completions in zip(batch, prompts, outputs, strict=True):
                for sample, completion in enumerate(completions):
                    if (bench.name, item.id, sample) in store:
                        continue
                    record = {
                        "benchmark": bench.name,
                        "id": item.id,
                        "sample": sample,
                        "gold": item.answer,
                        **_score(item, completion, settings.template),
                        "tokens": completion.tokens,
                        "looped": completion.looped,
                        "completion": completion.text,
                        "prompt": messages,
                    }
                    records.append(record)
            for record in records:  # one line per item as it completes
                store.append([record])
                made += 1
                correct += bool(record["correct"])
                if on_record is not None:
                    on_record(record)
            rate = made / max(time.monotonic() - start, 1e-9)
            progress.update(
                done_before + min(i + len(batch), len(todo)),
                note=f"accuracy so far {100 * correct / max(made, 1):.1f}% "
                f"({rate:.2f} completions/s)",
            )
    return made


def _judge_benchmark(
    bench: Benchmark,
    items: list[Item],
    gens: RecordStore,
    judged: RecordStore,
    judge: JudgeSettings,
) -> int:
    """Judge every completion of ``bench`` without a complete judge record; return the count."""
    by_id = {item.id: item for item in items}
    todo = []
    for record in gens.select(bench.name):
        previous = judged.get(record_key(record))
        if record["id"] in by_id and (previous is None or previous.get("errors")):
            todo.append(record)
    chunk = max(1, judge.workers) * 4
    with Progress(f"{bench.name} judge", len(todo), unit="completions") as progress:
        for i in range(0, len(todo), chunk):
            part = todo[i : i + chunk]
            results = judge_many(judge, [(by_id[r["id"]], r["completion"]) for r in part])
            judged.append(
                {"benchmark": r["benchmark"], "id": r["id"], "sample": r["sample"], **res}
                for r, res in zip(part, results, strict=True)
            )
            progress.update(min(i + chunk, len(todo)))
    return len(todo)


def run_eval(
    model: ModelConfig | str,
    settings: EvalSettings | None = None,
    *,
    adapter: str | None = None,
    judge: JudgeSettings | None = None,
    generator: Generator | None = None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Evaluate ``model`` (+ LoRA ``adapter``) and return the summary written to OUT.

    ``settings`` fields may also be given as keywords (``run_eval("tiny-random-qwen2",
    benchmarks=["demo"], out="outputs/eval/before", limit=6)``). ``generator`` replaces the
    model backend (tests); ``on_record`` sees each record as it is written.
    """
    settings = settings or EvalSettings()
    for key, value in overrides.items():
        if not hasattr(settings, key):
            raise TypeError(f"run_eval() got an unexpected keyword argument {key!r}")
        setattr(settings, key, value)
    cfg = model if isinstance(model, ModelConfig) else ModelConfig.for_inference(model)
    adapter = adapter or cfg.adapter
    try:
        check_template(settings.template)
    except ValueError as e:
        raise EvalError(str(e)) from None
    if settings.samples < 1:
        raise EvalError("--samples must be at least 1")
    if settings.samples > 1 and settings.temperature <= 0:
        raise EvalError("--samples > 1 needs sampling: set --temperature above 0 (e.g. 0.6)")
    if settings.limit is not None and settings.limit < 1:
        raise EvalError("--limit must be at least 1")
    benches = [b for b in settings.benchmarks if isinstance(b, Benchmark)]
    specs = [b for b in settings.benchmarks if not isinstance(b, Benchmark)]
    if specs:
        try:
            benches += parse_benchmarks(specs, path=settings.path, limit=settings.limit)
        except ValueError as e:
            raise EvalError(str(e)) from None
    if not benches:
        raise EvalError("no benchmark given: --benchmark medqa[,medmcqa,...]")

    out = Path(settings.out)
    if out.exists() and not out.is_dir():
        raise EvalError(f"--out {out} is a file; give a folder")
    pinned = {
        "model": cfg.name_or_path,
        "adapter": str(adapter) if adapter else None,
        "template": settings.template,
        "temperature": settings.temperature,
        "top_p": settings.top_p if settings.temperature > 0 else 1.0,
        "max_new_tokens": settings.max_new_tokens,
        "seed": settings.seed,
        "stop_loops": settings.stop_loops,
        "model_weights": model_fingerprint(cfg.name_or_path),
        "adapter_weights": weights_fingerprint(adapter) if adapter else None,
    }
    gens = RecordStore(out / "generations.jsonl")
    _check_pinned(out, pinned, len(gens))

    from clinr1.data.adapters import DataError
    from clinr1.data.loading import load_items

    loaded: dict[str, list[Item]] = {}
    load_notes: dict[str, dict[str, Any]] = {}
    for bench in benches:
        try:
            result = load_items(bench.source, key=f"benchmark {bench.name}")
        except DataError as e:
            raise EvalError(str(e)) from None
        if not result.items:
            raise EvalError(f"{bench.name}: no usable items ({result.summary()})")
        _log(result.summary())
        if bench.expected and len(result.items) != bench.expected:
            _log(f"{bench.name}: note: the paper's split has {bench.expected} items")
        ids = [item.id for item in result.items]
        if len(set(ids)) != len(ids):
            raise EvalError(f"{bench.name}: item ids are not unique, so runs cannot resume")
        loaded[bench.name] = result.items
        load_notes[bench.name] = {
            "origin": result.origin,
            "skipped": result.skipped,
            "unreadable_lines": result.bad_lines[:50],
        }

    out.mkdir(parents=True, exist_ok=True)
    state: dict[str, Generator] = {}

    def factory() -> Generator:
        if "g" not in state:
            if generator is not None:
                state["g"] = generator
            else:
                sampling = Sampling(
                    temperature=settings.temperature,
                    top_p=settings.top_p,
                    max_new_tokens=settings.max_new_tokens,
                    seed=settings.seed,
                    stop_loops=settings.stop_loops,
                )
                _log(f"loading {cfg.name_or_path}" + (f" + {adapter}" if adapter else ""))
                state["g"] = build_generator(
                    cfg,
                    sampling,
                    backend=settings.backend,
                    adapter=adapter,
                    batch_size=settings.batch_size,
                )
            _write_pinned(out, pinned)  # the model loaded: from here on OUT is this run's
        return state["g"]

    made: dict[str, int] = {}
    for bench in benches:
        made[bench.name] = _generate_benchmark(
            bench, loaded[bench.name], gens, factory, settings, on_record
        )

    judged = None
    if judge is not None:
        judged = RecordStore(out / "judge.jsonl")
        for bench in benches:
            _judge_benchmark(bench, loaded[bench.name], gens, judged, judge)

    summary: dict[str, Any] = {
        "model": cfg.name_or_path,
        "adapter": str(adapter) if adapter else None,
        "template": settings.template,
        "settings": {
            "samples": settings.samples,
            "temperature": settings.temperature,
            "top_p": settings.top_p,
            "max_new_tokens": settings.max_new_tokens,
            "limit": settings.limit,
            "seed": settings.seed,
            "stop_loops": settings.stop_loops,
            "backend": state["g"].name if "g" in state else None,
        },
        "judge": {"url": judge.url, "model": judge.model} if judge else None,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "generated_this_run": made,
        "data": load_notes,
        "benchmarks": {},
    }
    for bench in benches:
        wanted = {
            (bench.name, item.id, s) for item in loaded[bench.name] for s in range(settings.samples)
        }
        records = [r for r in gens.select(bench.name) if record_key(r) in wanted]
        metrics = aggregate(records, settings.samples)
        if judged is not None:
            ok = [j for j in judged.select(bench.name) if record_key(j) in wanted]
            metrics.update(aggregate_judge(ok, JUDGE_KEYS))
        summary["benchmarks"][bench.name] = metrics
        summary["data"][bench.name]["extraction_failure_ids"] = [
            r["id"] for r in records if r.get("extracted") is None
        ][:50]
    if not (out / PINNED_FILE).is_file():
        _write_pinned(out, pinned)
    atomic_write(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    atomic_write(out / "report.md", render_report(summary))
    _log(f"wrote {out / 'summary.json'} and {out / 'report.md'}")
    return summary


def render_report(summary: dict[str, Any]) -> str:
    """``report.md``: the settings and one metrics table per run, benchmarks as columns."""
    names = list(summary["benchmarks"])
    lines = [
        f"# Evaluation: {summary['model']}"
        + (f" + {summary['adapter']}" if summary["adapter"] else ""),
        "",
        f"- template: `{summary['template']}`; settings: "
        + ", ".join(f"{k}={v}" for k, v in summary["settings"].items()),
    ]
    if summary.get("judge"):
        lines.append(f"- judge: {summary['judge']['model']} at {summary['judge']['url']}")
    for name in names:
        note = summary["data"].get(name, {})
        lines.append(f"- {name}: {note.get('origin', '')}, {note.get('skipped', 0)} rows skipped")
    lines += ["", "| metric | " + " | ".join(names) + " |", "|:--|" + "--:|" * len(names)]
    keys: list[str] = []
    for metrics in summary["benchmarks"].values():
        keys += [k for k in metrics if k not in keys]
    for key in metric_order(keys):
        shown = f"{key} (%)" if METRICS.get(key, ("",))[0] == "pct" else key
        cells = [format_value(key, summary["benchmarks"][n].get(key)) for n in names]
        lines.append(f"| {shown} | " + " | ".join(cells) + " |")
    failures = {n: summary["data"].get(n, {}).get("extraction_failure_ids") for n in names}
    failures = {n: ids for n, ids in failures.items() if ids}
    if failures:
        lines += ["", "## Extraction failures (first 50 ids)", ""]
        lines += [f"- {n}: {', '.join(map(str, ids))}" for n, ids in failures.items()]
    lines += ["", "Metric definitions: docs/evaluation.md.", ""]
    return "\n".join(lines)
