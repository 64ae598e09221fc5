"""The real learning check's plumbing (benchmarks/real_learning_check.py): its job scheduler
and how it reads an arm's answers back. The check itself is a benchmark, run by hand."""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from clinr1.data import demo_items
from clinr1.traces import write_trace

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "real_learning_check.py"


@pytest.fixture(scope="module")
def check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("real_learning_check", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_jobs_start_when_what_they_need_has_finished(check: ModuleType) -> None:
    events: list[tuple[str, str]] = []
    lock = threading.Lock()
    at_once = [0, 0]  # now, most

    def job(name: str, seconds: float = 0.05) -> Callable[[], None]:
        def run() -> None:
            with lock:
                events.append(("start", name))
                at_once[0] += 1
                at_once[1] = max(at_once)
            time.sleep(seconds)
            with lock:
                events.append(("end", name))
                at_once[0] -= 1

        return run

    check.run_jobs(
        {
            "sft": ((), job("sft", 0.2)),
            "rl": (("sft",), job("rl")),
            "eval base": ((), job("eval base")),
            "eval sft": (("sft",), job("eval sft")),
            "eval rl": (("rl",), job("eval rl")),
        },
        parallel=2,
    )
    for name, need in (("rl", "sft"), ("eval sft", "sft"), ("eval rl", "rl")):
        assert events.index(("end", need)) < events.index(("start", name)), events
    # the two jobs that need nothing start together; never more than two at once
    assert set(events[:2]) == {("start", "sft"), ("start", "eval base")}
    assert at_once[1] == 2 and len(events) == 10


def test_a_job_that_takes_every_thread_runs_alone_and_keeps_its_place(check: ModuleType) -> None:
    events: list[tuple[str, str]] = []
    lock = threading.Lock()

    def job(name: str) -> Callable[[], None]:
        def run() -> None:
            with lock:
                events.append(("start", name))
            time.sleep(0.05)
            with lock:
                events.append(("end", name))

        return run

    names = ("sft", "grpo", "crpo", "eval base", "eval sft")
    needs = {"grpo": ("sft",), "crpo": ("sft",), "eval sft": ("sft",)}
    jobs = {n: (needs.get(n, ()), job(n)) for n in names}
    check.run_jobs(jobs, parallel=2, threads={"sft": 2})
    # SFT first and alone, although "eval base" was ready beside it; then the two arms, which
    # come before the evaluations in the order given
    assert events[:2] == [("start", "sft"), ("end", "sft")]
    assert {events[2], events[3]} == {("start", "grpo"), ("start", "crpo")}
    assert len(events) == 10
    # a wide job ready while another runs waits for it, and the job after it waits too
    events.clear()
    jobs = {"x": ((), job("x")), "w": ((), job("w")), "y": ((), job("y"))}
    check.run_jobs(jobs, parallel=2, threads={"w": 2})
    assert [e[1] for e in events if e[0] == "start"] == ["x", "w", "y"]
    assert events.index(("end", "x")) < events.index(("start", "w"))
    assert events.index(("end", "w")) < events.index(("start", "y"))
    # one thread: the same order, one job at a time (a width above `parallel` is capped)
    jobs = {n: (needs.get(n, ()), job(n)) for n in names}
    events.clear()
    check.run_jobs(jobs, parallel=1, threads={"sft": 2})
    assert [e for e in events if e[0] == "start"] == [("start", n) for n in names]
    assert all(events[i][1] == events[i + 1][1] for i in range(0, 10, 2))


def test_a_stage_runs_on_the_threads_it_was_given(
    check: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str | None] = []

    def fake_run(cmd: list[str], **kwargs: Any) -> Any:
        seen.append(kwargs["env"].get("OMP_NUM_THREADS"))
        return type("Done", (), {"returncode": 0})()

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr(check.subprocess, "run", fake_run)
    check.clinr1(["sft", "recipe.yaml"], tmp_path / "sft.log", threads=2)
    check.clinr1(["eval", "--recipe", "recipe.yaml"], tmp_path / "eval.log")
    assert seen == ["2", "1"]


def test_a_job_that_needs_an_unknown_job_is_refused_before_anything_runs(
    check: ModuleType,
) -> None:
    ran: list[str] = []
    with pytest.raises(ValueError, match="sfft"):
        check.run_jobs({"sft": ((), lambda: ran.append("sft")), "rl": (("sfft",), print)}, 2)
    assert ran == []


def test_a_failed_job_stops_the_check(check: ModuleType) -> None:
    ran: list[str] = []

    def fail() -> None:
        raise SystemExit("failed (1): sft")

    with pytest.raises(SystemExit, match="sft"):
        check.run_jobs({"sft": ((), fail), "rl": (("sft",), lambda: ran.append("rl"))}, 1)
    assert ran == []


def _row(benchmark: str, item_id: str, completion: str, gold: str) -> dict[str, Any]:
    return {"benchmark": benchmark, "id": item_id, "gold": gold, "completion": completion,
            "correct": True, "tokens": 9}  # fmt: skip


def test_records_merge_the_benchmark_folders_and_rescore(check: ModuleType, tmp_path: Path) -> None:
    items = demo_items()[:2]
    for n, (bench, item) in enumerate(zip(("medqa", "medmcqa"), items, strict=True)):
        row = item.to_dict() | {"id": f"{bench}-heldout-0"}
        check.write_jsonl(tmp_path / "data" / "eval" / f"{bench}.jsonl", [row])
        answer = _row(bench, row["id"], write_trace(item, seed=n), item.answer)
        check.write_jsonl(tmp_path / "eval" / "crpo" / bench / "generations.jsonl", [answer])
    rows = check.records(tmp_path / "eval" / "crpo")
    assert sorted(r["benchmark"] for r in rows) == ["medmcqa", "medqa"]
    assert all(r["scores"]["accuracy"] == 1.0 for r in rows)  # scored here, not carried over
    figures = check.arm_figures(tmp_path / "eval" / "crpo")
    assert figures["n_items"] == 2 and set(figures["by_benchmark"]) == {"medqa", "medmcqa"}
    # at a cap of 9 tokens both answers were cut off; at 10 both ended
    assert check.arm_figures(tmp_path / "eval" / "crpo", cap=9)["reached_cap"]["mean"] == 1.0
    capped = check.arm_figures(tmp_path / "eval" / "crpo", cap=10)
    assert capped["reached_cap"]["mean"] == 0.0 and capped["ended"]["n_items"] == 2
    assert capped["ended"]["faithfulness"]["mean"] == figures["faithfulness"]["mean"] > 0
    assert "cut off (token cap, or a loop)" in check.table({"crpo": capped})
    # an answer stopped in a loop (eval --stop-loops) is cut off too, below the cap
    looped = tmp_path / "eval" / "grpo" / "medqa" / "generations.jsonl"
    answer = _row("medqa", "medqa-heldout-0", "the same words " * 3, items[0].answer)
    check.write_jsonl(looped, [answer | {"looped": True}])
    loop_figures = check.arm_figures(looped.parent.parent, cap=10)
    assert loop_figures["reached_cap"]["mean"] == 1.0 and loop_figures["ended"]["n_items"] == 0

    # a run from before the split: one file for both benchmarks
    old = tmp_path / "eval" / "sft" / "generations.jsonl"
    old.parent.mkdir(parents=True)
    old.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert len(check.records(old.parent)) == 2


def test_the_default_scale_and_a_folder_keeps_its_scale(check: ModuleType, tmp_path: Path) -> None:
    assert check.build_parser().parse_args([]).scale == "cpu"
    cpu, long, short, brief = (
        check.SCALES[s] for s in ("cpu", "cpu-long", "cpu-short", "cpu-brief")
    )
    # full traces: the brief ones made an incoherent cold start (run 3 of RESULTS.md)
    assert cpu["brief"] == long["brief"] == short["brief"] == 0 and brief["brief"] == 1
    assert cpu["tokens"] == long["tokens"] == 384  # full traces average 307 tokens, 419 at most
    # 20 SFT steps left 42 % of greedy answers looping past the cap (run 4)
    assert cpu["sft_steps"] == long["sft_steps"] == short["sft_steps"] == 32
    # CRPO led at 32 RL steps at 5e-5 (run 2) and 16 at 1e-4 (run 6); 12 at 5e-5 left the arms
    # equal (run 5)
    assert (cpu["rl_steps"], cpu["rl_lr"]) == (16, 1e-4)
    assert (long["rl_steps"], long["rl_lr"]) == (32, 5e-5)
    assert (short["rl_steps"], short["rl_lr"]) == (12, 5e-5)
    assert cpu["eval_n"] == long["eval_n"] == brief["eval_n"] == 50  # >= 100 held-out items
    # a folder made at another scale is refused, not mixed into this run
    settings = tmp_path / "data" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"eval_n": 50, "wordings": 2, "brief": 1}))
    with pytest.raises(SystemExit, match="another --out"):
        check.prepare_data(tmp_path, cpu)


@pytest.mark.parametrize(
    ("override", "message"),
    [("rl_lr=fast", "rl_lr takes a number"), ("rl_steps=1.5", "rl_steps takes a whole number"),
     ("lr=1e-4", "lr: not a scale value"), ("rl_lr=nan", "rl_lr must be finite and above 0"),
     ("rl_lr=0", "rl_lr must be finite and above 0"),
     ("sft_steps=-1", "sft_steps must be finite and at least 0")],
)  # fmt: skip
def test_a_bad_scale_value_is_refused_before_anything_runs(
    check: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str], override: str,
    message: str,
) -> None:  # fmt: skip
    with pytest.raises(SystemExit) as stopped:
        check.main(["--set", override, "--out", str(tmp_path / "out")])
    assert stopped.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_parallel_below_one_is_refused(
    check: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        check.main(["--parallel", "0", "--out", str(tmp_path / "out")])
    assert stopped.value.code == 2 and "--parallel 0: at least 1" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_jobs_that_need_one_another_are_refused(check: ModuleType) -> None:
    with pytest.raises(SystemExit, match="a, b: they need one another"):
        check.run_jobs({"a": (("b",), print), "b": (("a",), print)}, 2)
