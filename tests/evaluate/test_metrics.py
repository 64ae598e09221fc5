"""Metrics, resumable records, benchmark specs and the compare table (no model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clinr1.evaluate import (
    METRICS,
    BenchmarkError,
    CompareError,
    compare_tables,
    parse_benchmarks,
    render_markdown,
    wilson_interval,
)
from clinr1.evaluate.metrics import aggregate, aggregate_judge, format_value
from clinr1.evaluate.store import RecordStore


def _record(i: str, sample: int, extracted: str | None, gold: str = "A", **scores) -> dict:
    return {
        "benchmark": "b",
        "id": i,
        "sample": sample,
        "gold": gold,
        "extracted": extracted,
        "correct": extracted == gold,
        "tokens": 10 + sample,
        "scores": scores,
    }


def test_wilson_interval_known_values() -> None:
    low, high = wilson_interval(50, 100)
    assert (round(low, 4), round(high, 4)) == (0.4038, 0.5962)
    low, high = wilson_interval(0, 10)  # never below 0, and wider than zero
    assert low == 0.0 and 0.27 < high < 0.28
    assert wilson_interval(0, 0) == (0.0, 0.0)


def test_aggregate_accuracy_failures_and_reward_means() -> None:
    records = [
        _record(
            "1",
            0,
            "A",
            format=1.0,
            faithfulness=0.5,
            **{
                "faithfulness/grounded_quotes": 3,
                "faithfulness/fabricated_quotes": 1,
                "counts/verification": 2,
                "accuracy": 1.0,
                "total": 11.0,
            },
        ),
        _record(
            "2",
            0,
            "B",
            format=2 / 3,
            faithfulness=0.0,
            **{
                "faithfulness/grounded_quotes": 0,
                "faithfulness/fabricated_quotes": 0,
                "counts/verification": 0,
                "accuracy": 0.0,
                "total": 0.0,
            },
        ),
        _record(
            "3",
            0,
            None,
            format=0.0,
            faithfulness=0.0,
            **{
                "faithfulness/grounded_quotes": 1,
                "faithfulness/fabricated_quotes": 3,
                "counts/verification": 1,
                "accuracy": 0.0,
                "total": 0.0,
            },
        ),
    ]
    m = aggregate(records)
    assert m["n_items"] == 3 and m["n_generations"] == 3
    assert m["accuracy"] == pytest.approx(1 / 3)
    assert m["accuracy_ci_low"] < 1 / 3 < m["accuracy_ci_high"]
    assert m["extraction_failures"] == 1
    assert m["format_compliance"] == pytest.approx(1 / 3)  # only a perfect format counts
    assert m["faithfulness/grounded_quotes"] == pytest.approx(4 / 3)
    assert m["faithfulness/fabricated_quote_rate"] == pytest.approx(4 / 8)  # pooled
    assert m["counts/verification"] == pytest.approx(1.0)
    assert m["accuracy_strict"] == pytest.approx(1 / 3)  # the reward's strict accuracy
    assert m["reward_total"] == pytest.approx(11 / 3)
    assert m["completion_tokens"] == 10.0
    assert "pass@k" not in m


def test_aggregate_pass_and_majority_at_k() -> None:
    records = [
        _record("1", 0, "A"),
        _record("1", 1, "B"),
        _record("1", 2, "B"),  # pass, majority wrong
        _record("2", 0, "A"),
        _record("2", 1, "A"),
        _record("2", 2, None),  # pass, majority right
        _record("3", 0, None),
        _record("3", 1, "C"),
        _record("3", 2, "D"),  # neither
    ]
    m = aggregate(records, samples=3)
    assert m["accuracy"] == pytest.approx(3 / 9)
    assert m["pass@k"] == pytest.approx(2 / 3)
    assert m["maj@k"] == pytest.approx(1 / 3)


def test_aggregate_judge_counts_failures() -> None:
    judged = [
        {"verification": 2, "faithfulness": 0.8, "errors": {}},
        {"verification": None, "faithfulness": 0.4, "errors": {"verification": "HTTP 500"}},
    ]
    m = aggregate_judge(judged, ["verification", "faithfulness"])
    assert m == {
        "judge/n": 2,
        "judge/verification": 2.0,
        "judge/faithfulness": pytest.approx(0.6),
        "judge/failures": 1,
    }


def test_every_metric_has_a_kind_and_definition() -> None:
    for key, (kind, definition) in METRICS.items():
        assert kind in {"pct", "score", "count", "n", "tokens"}, key
        assert definition, key
    assert format_value("accuracy", 0.5307) == "53.07"
    assert format_value("n_items", 6) == "6"
    assert format_value("faithfulness", None) == "–"


def test_store_drops_a_truncated_last_line(tmp_path: Path) -> None:
    path = tmp_path / "generations.jsonl"
    good = [_record(str(i), 0, "A") for i in range(2)]
    path.write_text("".join(json.dumps(r) + "\n" for r in good) + '{"benchmark": "b", "id": "2"')
    store = RecordStore(path)
    assert len(store) == 2 and store.dropped == 1
    assert path.read_text().endswith("}\n")  # rewritten without the torn line
    store.append([_record("2", 0, "B")])
    again = RecordStore(path)
    assert len(again) == 3 and again.dropped == 0
    assert ("b", "2", 0) in again


def test_benchmark_specs() -> None:
    medqa, local, own = parse_benchmarks("medqa,medmcqa:dev.json,file:data/mine.jsonl")
    assert (medqa.source.name, medqa.source.split, medqa.expected) == ("medqa", "test", 1273)
    assert (local.name, local.source.path) == ("medmcqa", "dev.json")
    assert (own.name, own.source.name) == ("mine", "unified")
    xpert = parse_benchmarks(["medxpertqa"], limit=5)[0]
    assert (xpert.source.subset, xpert.source.limit, xpert.expected) == ("Text", 5, None)
    with pytest.raises(BenchmarkError, match="unknown benchmark 'medqq'"):
        parse_benchmarks("medqq")
    with pytest.raises(BenchmarkError, match="given twice"):
        parse_benchmarks("medqa,medqa")
    with pytest.raises(BenchmarkError, match="one benchmark"):
        parse_benchmarks("medqa,medmcqa", path="x.jsonl")


def _summary(tmp_path: Path, name: str, acc: dict[str, float]) -> Path:
    out = tmp_path / name
    out.mkdir()
    benchmarks = {b: {"n_items": 10, "accuracy": a, "faithfulness": a / 2} for b, a in acc.items()}
    summary = {"model": "m", "adapter": None, "template": "crpo", "benchmarks": benchmarks}
    (out / "summary.json").write_text(json.dumps(summary))
    return out


def test_compare_table_with_delta_and_paper_reference(tmp_path: Path) -> None:
    before = _summary(tmp_path, "before", {"medqa": 0.40, "demo": 0.2})
    after = _summary(tmp_path, "after", {"medqa": 0.45})
    table = compare_tables([before, after])
    assert [r["label"] for r in table["runs"]] == ["before", "after"]
    acc = next(
        r
        for r in table["rows"]
        if r["benchmark"] == "medqa" and r["metric"] == "accuracy" and "reference" not in r
    )
    assert acc["values"] == {"before": 0.40, "after": 0.45}
    refs = {r["reference"]: r["value"] for r in table["rows"] if r.get("reference")}
    assert refs["Clinical-R1-3B (cold start + CRPO)"] == pytest.approx(0.5307)
    assert refs["Qwen2.5-3B-Instruct CoT"] == pytest.approx(0.4195)
    md = render_markdown(table)
    assert "| medqa | accuracy (%) | 40.00 | 45.00 | +5.00 |" in md
    assert "↳ paper: Clinical-R1-3B (cold start + CRPO) accuracy (%) (boxed)" in md
    assert "| demo | accuracy (%) | 20.00 | – |" in md  # missing in one run
    only = compare_tables([before], metrics=["faithfulness"], reference=False)
    assert {r["metric"] for r in only["rows"]} == {"faithfulness"}


def test_compare_refuses_a_folder_without_summary(tmp_path: Path) -> None:
    with pytest.raises(CompareError, match=r"no summary\.json"):
        compare_tables([tmp_path])


def test_compare_carries_every_paper_row_with_how_it_was_read(tmp_path: Path) -> None:
    run = _summary(tmp_path, "run", {"medqa": 0.4, "medmcqa": 0.4, "medxpertqa": 0.1})
    refs = {
        (r["benchmark"], r["reference"]): (r["value"], r["extraction"])
        for r in compare_tables([run])["rows"]
        if r.get("reference")
    }
    expected = {
        "Qwen2.5-3B-Instruct CoT": ((41.95, 46.78, 10.51), "judged"),
        "GRPO-3B": ((50.35, 49.87, 12.64), "boxed"),
        "CRPO-3B": ((52.41, 55.13, 14.88), "boxed"),
        "cold start + GRPO-3B": ((51.07, 48.86, 12.64), "boxed"),
        "Clinical-R1-3B (cold start + CRPO)": ((53.07, 58.10, 16.14), "boxed"),
    }
    assert len(refs) == 15
    for model, (accs, how) in expected.items():
        for bench, acc in zip(("medqa", "medmcqa", "medxpertqa"), accs, strict=True):
            assert refs[(bench, model)] == (pytest.approx(acc / 100), how)
    md = render_markdown(compare_tables([run]))
    assert "↳ paper: Qwen2.5-3B-Instruct CoT accuracy (%) (judged)" in md
    assert "judged: the answer letter read by an LLM" in md and "not measured by clinr1" in md


def test_compare_shows_reference_rows_only_for_benchmarks_in_the_runs(tmp_path: Path) -> None:
    demo = _summary(tmp_path, "demo", {"demo": 0.5})
    table = compare_tables([demo])
    assert not [r for r in table["rows"] if r.get("reference")]
    md = render_markdown(table)
    assert "paper" not in md.lower() and "reference rows" not in md.lower()
    medqa = _summary(tmp_path, "medqa", {"medqa": 0.5})
    benches = {r["benchmark"] for r in compare_tables([medqa])["rows"] if r.get("reference")}
    assert benches == {"medqa"}


def test_compare_rejects_unknown_metric_names(tmp_path: Path) -> None:
    run = _summary(tmp_path, "run", {"medqa": 0.5})
    with pytest.raises(CompareError, match=r"unknown metric 'faithfulnes'; the runs have: .*acc"):
        compare_tables([run], metrics=["accuracy", "faithfulnes"])
    # A metric clinr1 knows that these runs lack (no judge) is not an error.
    assert compare_tables([run], metrics=["judge/faithfulness"], reference=False)["rows"] == []


def test_compare_warns_when_runs_differ_in_settings(tmp_path: Path) -> None:
    a = _summary(tmp_path, "a", {"medqa": 0.5})
    b = _summary(tmp_path, "b", {"medqa": 0.6})
    for folder, temperature, n, origin in ((a, 0.0, 10, "x.jsonl"), (b, 0.6, 8, "y.jsonl")):
        summary = json.loads((folder / "summary.json").read_text())
        summary["settings"] = {"temperature": temperature, "max_new_tokens": 512, "samples": 1}
        summary["benchmarks"]["medqa"]["n_items"] = n
        summary["data"] = {"medqa": {"origin": origin}}
        (folder / "summary.json").write_text(json.dumps(summary))
    table = compare_tables([a, b])
    assert table["warnings"] == [
        "the runs differ in temperature (a: 0.0, b: 0.6)",
        "the runs differ in medqa items (a: 10, b: 8)",
        "the runs differ in medqa data (a: x.jsonl, b: y.jsonl)",
    ]
    assert "Warning: the runs differ in temperature (a: 0.0, b: 0.6)." in render_markdown(table)
    assert compare_tables([a, a], labels=["x", "y"])["warnings"] == []
