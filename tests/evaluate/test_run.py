"""``run_eval`` end to end: the tiny model on bundled items, resuming, the judge, errors."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import clinr1.evaluate.run as run_module
from clinr1.config import TINY_MODEL, ModelConfig
from clinr1.evaluate import EvalError, JudgeSettings, run_eval
from clinr1.evaluate.generate import Completion

FIXTURES = Path(__file__).parent / "fixtures"
TINY = ModelConfig(name_or_path=TINY_MODEL, engine="hf", load_in_4bit=False, lora=None)

# Every metric the issue asks for, by its summary.json key.
REQUIRED_KEYS = {
    "n_items",
    "n_generations",
    "accuracy",
    "accuracy_ci_low",
    "accuracy_ci_high",
    "format",
    "format_compliance",
    "extraction_failures",
    "extraction_failure_rate",
    "faithfulness",
    "faithfulness/consistency",
    "faithfulness/grounded_quotes",
    "faithfulness/fabricated_quote_rate",
    "comprehensiveness",
    "comprehensiveness/distractor_coverage",
    "counts/verification",
    "counts/backtracking",
    "counts/subgoal",
    "counts/backward_chaining",
    "completion_tokens",
}


class CountingBuild:
    """Wraps ``build_generator`` so a test can count the prompts the model really generated."""

    def __init__(self) -> None:
        self.prompts = 0
        self.real = run_module.build_generator

    def __call__(self, *args, **kwargs):
        generator = self.real(*args, **kwargs)
        outer = self

        class Counting:
            name = generator.name

            def generate(self, prompts, n):
                outer.prompts += len(prompts)
                return generator.generate(prompts, n)

        return Counting()


def test_tiny_model_eval_then_resume_after_a_kill(tmp_path: Path, monkeypatch) -> None:
    counter = CountingBuild()
    monkeypatch.setattr(run_module, "build_generator", counter)
    out = tmp_path / "eval"
    kwargs = dict(benchmarks=["demo"], out=str(out), limit=6, max_new_tokens=16, batch_size=1)

    class Killed(Exception):
        pass

    seen = []

    def kill_after_three(record: dict) -> None:
        seen.append(record["id"])
        if len(seen) == 3:
            raise Killed

    with pytest.raises(Killed):
        run_eval(TINY, on_record=kill_after_three, **kwargs)
    assert counter.prompts == 3
    gens = out / "generations.jsonl"
    assert len(gens.read_text().splitlines()) == 3
    assert not (out / "summary.json").exists()
    with gens.open("a") as f:  # and the kill tore a fourth line in half
        f.write('{"benchmark": "demo", "id": "demo-004", "sam')

    summary = run_eval(TINY, **kwargs)
    assert counter.prompts == 6  # only the remaining 3 were generated
    assert summary["generated_this_run"] == {"demo": 3}
    lines = [json.loads(x) for x in gens.read_text().splitlines()]
    assert [r["id"] for r in lines] == [f"demo-00{i}" for i in range(1, 7)]
    record = lines[0]
    assert {"prompt", "completion", "extracted", "scores", "tokens", "gold"} <= set(record)
    assert record["prompt"][0]["role"] == "system" and 0 < record["tokens"] <= 16
    metrics = summary["benchmarks"]["demo"]
    assert set(metrics) >= REQUIRED_KEYS, REQUIRED_KEYS - set(metrics)
    assert metrics["n_items"] == 6 and 0 <= metrics["accuracy"] <= 1
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["benchmarks"] == summary["benchmarks"]
    assert "| accuracy (%) |" in (out / "report.md").read_text()

    again = run_eval(TINY, **kwargs)  # nothing left: the model is not even loaded
    assert counter.prompts == 6 and again["generated_this_run"] == {"demo": 0}
    assert again["benchmarks"] == summary["benchmarks"]


class Scripted:
    """A generator that answers from a script: item question -> completion text."""

    name = "scripted"

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.calls = 0

    def generate(self, prompts: Sequence[list[dict]], n: int) -> list[list[Completion]]:
        self.calls += len(prompts)
        out = []
        for messages in prompts:
            user = messages[-1]["content"]
            text = next((t for key, t in self.answers.items() if key in user), "no idea")
            out.append([Completion(text=text, tokens=len(text.split()))] * n)
        return out


GOOD = (
    '<dx>"ST elevation in leads II, III and aVF" points to the inferior wall. Option A: the '
    "anterior wall would show V1-V4 changes; ruled out. Option B: most likely, the right "
    "coronary artery supplies the inferior wall. Option C: lateral leads would change; ruled "
    "out. Option D: would cause diffuse changes and shock; ruled out.</dx><conclusion>"
    'Inferior "ST elevation in leads II, III and aVF": \\boxed{B}</conclusion>'
)


def test_local_files_several_benchmarks_and_scores(tmp_path: Path) -> None:
    scripted = Scripted(
        {"crushing chest pain": GOOD, "heat intolerance": "The answer is (A).", "periorbital": ""}
    )
    summary = run_eval(
        TINY,
        benchmarks=[f"medqa:{FIXTURES / 'medqa_3.jsonl'}", "demo"],
        out=str(tmp_path),
        limit=3,
        generator=scripted,
    )
    medqa = summary["benchmarks"]["medqa"]
    assert medqa["n_items"] == 3 and scripted.calls == 6
    assert medqa["accuracy"] == pytest.approx(1 / 3)  # B right, A wrong, nothing extracted
    assert medqa["extraction_failures"] == 1
    assert medqa["faithfulness/grounded_quotes"] > 0 and medqa["format_compliance"] > 0
    assert set(summary["benchmarks"]) == {"medqa", "demo"}
    records = [json.loads(x) for x in (tmp_path / "generations.jsonl").read_text().splitlines()]
    assert {r["benchmark"] for r in records} == {"medqa", "demo"}


def test_settings_are_checked(tmp_path: Path) -> None:
    scripted = Scripted({})
    run_eval(TINY, benchmarks=["demo"], out=str(tmp_path), limit=1, generator=scripted)
    with pytest.raises(EvalError, match="holds a run with template='crpo'"):
        run_eval(TINY, benchmarks=["demo"], out=str(tmp_path), template="r1", generator=scripted)
    with pytest.raises(EvalError, match="temperature"):
        run_eval(TINY, benchmarks=["demo"], out=str(tmp_path / "k"), samples=4)
    with pytest.raises(EvalError, match="unknown benchmark"):
        run_eval(TINY, benchmarks=["medqq"], out=str(tmp_path / "x"))
    with pytest.raises(EvalError, match="no such file"):
        run_eval(TINY, benchmarks=["medqa:/nonexistent.jsonl"], out=str(tmp_path / "y"))


def test_a_folder_from_before_pinned_json_is_checked_through_its_run_json(tmp_path: Path) -> None:
    scripted = Scripted({})
    run_eval(TINY, benchmarks=["demo"], out=str(tmp_path), limit=1, generator=scripted)
    (tmp_path / "pinned.json").rename(tmp_path / "run.json")  # what an earlier clinr1 wrote
    with pytest.raises(EvalError, match="holds a run with template='crpo'"):
        run_eval(TINY, benchmarks=["demo"], out=str(tmp_path), template="r1", generator=scripted)


def test_samples_give_pass_and_majority_at_k(tmp_path: Path) -> None:
    scripted = Scripted({"": "The answer is A."})
    summary = run_eval(
        TINY,
        benchmarks=["demo"],
        out=str(tmp_path),
        limit=4,
        samples=3,
        temperature=0.7,
        generator=scripted,
    )
    demo = summary["benchmarks"]["demo"]
    assert demo["n_generations"] == 12 and {"pass@k", "maj@k"} <= set(demo)
    assert demo["pass@k"] == demo["maj@k"] == demo["accuracy"]


class _Judge(BaseHTTPRequestHandler):
    calls = 0
    garbage_once = True

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls += 1
        if type(self).garbage_once:
            type(self).garbage_once = False
            payload = b"not json at all"
        else:
            prompt = body["messages"][-1]["content"]
            text = "<score>9</score>" if "<score>" in prompt else "<count>1</count>"
            payload = json.dumps({"choices": [{"message": {"content": text}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def test_judge_metrics_join_the_summary_and_resume(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Judge)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        judge = JudgeSettings(
            url=f"http://127.0.0.1:{server.server_address[1]}/v1", model="j", backoff=0.01
        )
        kwargs = dict(benchmarks=["demo"], out=str(tmp_path), limit=2, generator=Scripted({}))
        summary = run_eval(TINY, judge=judge, **kwargs)
        demo = summary["benchmarks"]["demo"]
        assert demo["judge/n"] == 2 and demo["judge/failures"] == 0
        assert demo["judge/verification"] == 1.0 and demo["judge/faithfulness"] == 0.9
        assert _Judge.calls == 2 * 5 + 1  # five calls per completion, one garbage retried
        run_eval(TINY, judge=judge, **kwargs)
        assert _Judge.calls == 11  # already judged: nothing sent again
    finally:
        server.shutdown()
        server.server_close()


def test_judge_down_is_counted_not_fatal(tmp_path: Path) -> None:
    judge = JudgeSettings(url="http://127.0.0.1:9/v1", model="j", retries=0, timeout=0.5)
    summary = run_eval(
        TINY, benchmarks=["demo"], out=str(tmp_path), limit=1, generator=Scripted({}), judge=judge
    )
    assert summary["benchmarks"]["demo"]["judge/failures"] == 5
    assert summary["benchmarks"]["demo"]["judge/faithfulness"] is None


def test_a_benchmark_file_with_an_unreadable_line_is_evaluated_without_it(
    tmp_path: Path,
) -> None:
    lines = (FIXTURES / "medqa_3.jsonl").read_bytes().splitlines()
    bad = tmp_path / "medqa_bad.jsonl"
    bad.write_bytes(b"\n".join([lines[0], b'{"question": "torn', *lines[1:]]) + b"\n")
    summary = run_eval(
        TINY, benchmarks=[f"medqa:{bad}"], out=str(tmp_path / "out"), generator=Scripted({})
    )
    assert summary["benchmarks"]["medqa"]["n_items"] == 3
    assert summary["data"]["medqa"]["skipped"] == 1
    assert summary["data"]["medqa"]["unreadable_lines"] == [2]


def _adapter(folder: Path, value: float) -> Path:
    """A stand-in LoRA folder: only the weight file's bytes matter to the resume key."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text("{}")
    save_file({"lora_B": torch.full((2, 2), value)}, str(folder / "adapter_model.safetensors"))
    return folder


def test_an_adapter_trained_again_at_the_same_path_is_not_resumed(tmp_path: Path) -> None:
    adapter = _adapter(tmp_path / "crpo", 0.0)
    kwargs = dict(benchmarks=["demo"], out=str(tmp_path / "eval"), limit=2, adapter=str(adapter))
    first = run_eval(TINY, generator=Scripted({}), **kwargs)
    assert first["generated_this_run"] == {"demo": 2}
    pinned = json.loads((tmp_path / "eval" / "pinned.json").read_text())["pinned"]
    assert pinned["adapter_weights"].startswith("sha256:")
    assert pinned["model_weights"].startswith("sha256:")  # the tiny model's local folder
    # Same weights, same path: resumed, nothing generated.
    assert run_eval(TINY, generator=Scripted({}), **kwargs)["generated_this_run"] == {"demo": 0}
    _adapter(adapter, 1.0)  # trained again, saved at the same path
    with pytest.raises(
        EvalError, match=r"holds 2 completions of adapter .*crpo with other weights"
    ):
        run_eval(TINY, generator=Scripted({}), **kwargs)


def test_weights_fingerprint_is_cached_by_size_and_mtime(tmp_path: Path, monkeypatch) -> None:
    from clinr1.evaluate import fingerprint

    folder = _adapter(tmp_path / "a", 0.0)
    first = fingerprint.weights_fingerprint(folder)
    reads = []
    real = fingerprint.Path.open

    def counting_open(self, *args, **kwargs):
        if self.suffix == ".safetensors":
            reads.append(self)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(fingerprint.Path, "open", counting_open)
    assert fingerprint.weights_fingerprint(folder) == first and reads == []  # from the cache
    _adapter(folder, 2.0)
    assert fingerprint.weights_fingerprint(folder) != first and len(reads) == 1
    assert fingerprint.model_fingerprint("Org/not-in-the-cache") == "name:Org/not-in-the-cache"


def test_a_failed_eval_leaves_no_run_file_to_block_the_fixed_command(tmp_path: Path) -> None:
    out = tmp_path / "eval"
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(EvalError, match="is empty"):
        run_eval(TINY, benchmarks=[f"file:{empty}"], out=str(out))
    bad_model = ModelConfig(name_or_path="no-such-org/no-such-model", engine="hf", lora=None)
    bad_model.load_in_4bit = False
    from clinr1.engine import EngineError

    with pytest.raises(EngineError):
        run_eval(bad_model, benchmarks=["demo"], out=str(out), limit=1)
    assert not (out / "pinned.json").exists()
    fixed = run_eval(TINY, benchmarks=["demo"], out=str(out), limit=1, generator=Scripted({}))
    assert fixed["generated_this_run"] == {"demo": 1}
    assert json.loads((out / "pinned.json").read_text())["pinned"]["model"] == TINY_MODEL


def test_a_hub_model_is_pinned_by_its_cached_snapshot(tmp_path: Path, monkeypatch) -> None:
    from huggingface_hub import constants

    from clinr1.evaluate.fingerprint import model_fingerprint

    repo = tmp_path / "models--Org--model"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd" * 5)
    snapshot = repo / "snapshots" / ("0123abcd" * 5)
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    assert model_fingerprint("Org/model") == "hub:Org/model@" + "0123abcd" * 5
