"""``clinr1 bench`` on a CPU: both engines on the tiny model, the JSON, random init, ratios."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from clinr1 import bench as bench_mod
from clinr1.cli.bench import bench

REPO = Path(__file__).resolve().parents[1]
SMOKE = str(REPO / "recipes" / "smoke.yaml")
runner = CliRunner()

# The command alone, as the lead registers it in clinr1.cli (`app.command()(bench)`).
app = typer.Typer()
app.command()(bench)

ENGINE_FIELDS = (
    "ok", "device", "settings", "trainer_class", "timed_methods", "unsloth_imported", "load_s",
    "step_s", "generation_s", "reward_s", "training_s", "generation_tokens_per_s",
    "training_tokens_per_s", "prompt_tokens", "completion_tokens", "completions",
    "mean_completion_length", "clipped_ratio", "profile", "per_step", "memory", "versions",
)  # fmt: skip
REPORT_FIELDS = (
    "command", "date", "recipe", "model", "random_init", "warmup_steps", "steps", "device",
    "versions", "notes", "definitions", "engines", "ratios", "targets",
)  # fmt: skip


@pytest.mark.slow
def test_bench_smoke_both_engines_prints_table_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = runner.invoke(app, [SMOKE, "--steps", "2", "--json", str(out)])
    assert result.exit_code == 0, result.output[-4000:]
    for row in ("seconds / step (median)", "generation tokens/s", "training tokens/s"):
        assert row in result.output
    assert "peak RSS GiB" in result.output and "unsloth/hf" in result.output
    assert "its own process" in result.output

    report = json.loads(out.read_text())
    assert set(REPORT_FIELDS) <= set(report)
    assert list(report["engines"]) == ["unsloth", "hf"]
    for engine, r in report["engines"].items():
        assert set(ENGINE_FIELDS) <= set(r), engine
        assert r["ok"] and r["measured_steps"] == 2
        # One warm-up step ran first and is not in the medians.
        assert [s["warmup"] for s in r["per_step"]] == [True, False, False]
        # Every phase was found and timed, and the parts fit inside the step.
        assert r["untimed_methods"] == []
        assert 0 < r["generation_s"] < r["step_s"] and 0 < r["training_s"] < r["step_s"]
        assert r["completions"] == 4 and r["completion_tokens"] > 0 and r["prompt_tokens"] > 0
        assert r["generation_tokens_per_s"] > 0 and r["training_tokens_per_s"] > 0
        assert r["memory"]["peak_rss_gib"] > 0.1
    # The baseline never saw Unsloth: that is why each engine has its own process.
    assert report["engines"]["unsloth"]["unsloth_imported"] is True
    assert report["engines"]["hf"]["unsloth_imported"] is False
    pair = report["ratios"]["unsloth_vs_hf"]
    assert pair["speedup_step"] > 0 and pair["memory"]["peak_rss_gib"] > 0
    assert report["targets"]["why_not_judged"].endswith("CPU")


@pytest.mark.slow
def test_random_init_runs_to_max_length_and_says_so(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = [SMOKE, "--engines", "hf", "--steps", "1", "--warmup", "0", "--random-init"]
    result = runner.invoke(app, [*args, "--json", str(out)])
    assert result.exit_code == 0, result.output[-4000:]
    assert "completions run to their maximum length" in result.output
    report = json.loads(out.read_text())
    assert report["random_init"] and Path(report["random_model_path"]).is_dir()
    assert report["ratios"] == {}  # one engine: nothing to compare
    hf = report["engines"]["hf"]
    assert hf["settings"]["model"] == report["random_model_path"]


@pytest.mark.slow
def test_an_engine_over_its_timeout_fails_but_keeps_the_steps_it_finished(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = [SMOKE, "--engines", "hf", "--steps", "1000", "--timeout", "20", "--json", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "hf: FAILED: timed out after 20 s" in result.output
    hf = json.loads(out.read_text())["engines"]["hf"]
    assert not hf["ok"] and hf["error"].startswith("timed out after 20 s")
    if hf.get("per_step"):  # a loaded machine may not reach a step in 20 s
        assert hf["partial"] and 0 < len(hf["per_step"]) < 1001


def test_random_init_builds_a_known_architecture_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    # A small entry in the built-in table stands in for Qwen2.5-3B: same path, seconds on a CPU.
    small = dict(
        model_type="qwen2", hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=1, intermediate_size=64, vocab_size=1000, tie_word_embeddings=True,
    )  # fmt: skip
    monkeypatch.setitem(bench_mod.ARCHITECTURES, "Small-Test-Instruct", small)
    path = bench_mod.random_model_path("someorg/Small-Test-Instruct", "float32")
    assert bench_mod.random_model_path("someorg/Small-Test-Instruct", "float32") == path

    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(path))
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    # The model keeps its own vocabulary; the stand-in tokenizer's ids all fit inside it.
    assert model.config.vocab_size == 1000 and len(tokenizer) <= 1000
    assert model.config.eos_token_id == tokenizer.eos_token_id
    ids = tokenizer("chest pain", return_tensors="pt").input_ids
    assert model.generate(ids, max_new_tokens=3, do_sample=False).shape[1] == ids.shape[1] + 3


def test_random_init_unknown_name_is_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(bench_mod.BenchError, match=r"Qwen2\.5-3B-Instruct") as e:
        bench_mod.architecture("nobody/not-a-model-xyz")
    assert "\n" not in str(e.value)


def test_unknown_engine_exits_2() -> None:
    result = runner.invoke(app, [SMOKE, "--engines", "unsloth,vllm"])
    assert result.exit_code == 2
    assert "unknown engine 'vllm'" in result.output


def _fake(engine: str, step_s: float, peak: float, *, cuda: bool = True, ok: bool = True) -> dict:
    mem = {"peak_rss_gib": 2.0}
    if cuda:
        mem.update(peak_gpu_driver_gib=peak, peak_gpu_allocated_gib=peak - 1)
    return {
        "engine": engine,
        "ok": ok,
        "device": {"kind": "cuda" if cuda else "cpu", "name": "GPU" if cuda else "CPU"},
        "settings": {"load_in_4bit": cuda},
        "step_s": step_s,
        "generation_s": step_s / 2,
        "training_s": step_s / 2,
        "generation_tokens_per_s": 100 / step_s,
        "training_tokens_per_s": 1000 / step_s,
        "memory": mem,
    }


@pytest.mark.parametrize(
    ("u_step", "u_peak", "h_step", "h_peak", "fits", "fast", "small"),
    [
        (10.0, 8.0, 20.0, 16.0, True, True, True),  # 2x faster, half the memory, under 15 GB
        (10.0, 13.0, 12.0, 16.0, True, False, False),  # 1.2x and 0.81x: both ratio targets missed
        (10.0, 14.5, 20.0, 30.0, False, True, True),  # 14.5 GiB = 15.6 GB: over the T4 limit
    ],
)
def test_ratios_and_targets(u_step, u_peak, h_step, h_peak, fits, fast, small) -> None:
    results = {"unsloth": _fake("unsloth", u_step, u_peak), "hf": _fake("hf", h_step, h_peak)}
    ratios = bench_mod.compare(results)
    pair = ratios["unsloth_vs_hf"]
    assert pair["speedup_step"] == pytest.approx(h_step / u_step)
    assert pair["memory"]["peak_gpu_driver_gib"] == pytest.approx(u_peak / h_peak)
    targets = bench_mod.check_targets(results, ratios)
    assert (targets["unsloth_fits_t4"], targets["unsloth_speedup"]) == (fits, fast)
    assert targets["unsloth_memory_ratio"] == small


def test_report_names_a_failed_engine_and_judges_nothing_on_cpu() -> None:
    results = {
        "unsloth": {"engine": "unsloth", "ok": False, "error": "RuntimeError: CUDA out of memory"},
        "hf": _fake("hf", 3.0, 0, cuda=False),
    }
    ratios = bench_mod.compare(results)
    report = {
        "recipe": "r.yaml", "steps": 2, "warmup_steps": 1, "device": results["hf"]["device"],
        "engines": results, "ratios": ratios, "targets": bench_mod.check_targets(results, ratios),
        "notes": [bench_mod.ISOLATION_NOTE],
    }  # fmt: skip
    text = bench_mod.format_report(report)
    assert ratios == {}
    assert "unsloth: FAILED: RuntimeError: CUDA out of memory" in text
    assert "targets: not judged" in text
