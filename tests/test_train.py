"""Training on the tiny model, on a CPU: GRPO with both engines, resume, SFT, dry run, errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clinr1.cli import app

REPO = Path(__file__).resolve().parents[1]
SMOKE = str(REPO / "recipes" / "smoke.yaml")
runner = CliRunner()
OBJECTIVES = ("accuracy", "faithfulness", "comprehensiveness")


@pytest.fixture(autouse=True)
def _start_model(structured_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GRPO learns only where rewards differ within a group: start from the SFT'd tiny model.
    monkeypatch.setenv("CLINR1_TEST_START", str(structured_model))


def smoke_args(out: Path, *extra: str) -> list[str]:
    return [
        SMOKE,
        "--set", f"train.output_dir={out}",
        "--set", f"model.name_or_path={os.environ['CLINR1_TEST_START']}",
        "--set", "data.train.limit=8",
        "--set", "grpo.per_device_train_batch_size=8",
        "--set", "grpo.max_completion_length=200",
        "--set", "grpo.temperature=0.8",
        *extra,
    ]  # fmt: skip


def lora_b_norm(folder: Path) -> float:
    """LoRA's B matrices start at zero, so a non-zero norm means training moved them."""
    from safetensors.torch import load_file

    tensors = load_file(str(folder / "adapter_model.safetensors"))
    return sum(float(t.float().norm()) for k, t in tensors.items() if "lora_B" in k)


def check_run(out: Path, steps: int) -> dict:
    assert (out / "adapter_config.json").is_file()
    assert (out / "tokenizer_config.json").is_file()
    assert lora_b_norm(out) > 0
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    for name in OBJECTIVES:
        assert any(f"rewards/{name}/mean" in rec for rec in logged), name
    run = json.loads((out / "run.json").read_text())
    assert run["global_step"] == steps
    assert run["recipe"]["train"]["output_dir"] == str(out)
    assert run["versions"]["trl"] and run["wall_time_s"] > 0
    # The run's own model card, not TRL's "fine-tuned version of [None]".
    card = (out / "README.md").read_text(encoding="utf-8")
    base = run["recipe"]["model"]["name_or_path"]
    assert "[None]" not in card and f"# {base} + clinr1 CRPO/GRPO" in card
    assert "rewards: accuracy × 10.0" in card and "learning_rate:" in card
    return run


def test_grpo_two_steps_hf_engine(tmp_path: Path) -> None:
    out = tmp_path / "hf"
    result = runner.invoke(app, ["train", *smoke_args(out, "--set", "grpo.max_steps=2")])
    assert result.exit_code == 0, result.output
    assert "engine: hf" in result.output
    assert "rewards" in result.output or "accuracy" in result.output
    run = check_run(out, 2)
    assert run["engine"] == "hf"
    # Each log line says how fast it goes; the end is a summary, not "done: step N in Xs".
    assert "s/step, eta 0:" in result.output
    assert "done: step 2 of 2 in" in result.output
    for name in ("reward (weighted total)", "accuracy", "faithfulness", "comprehensiveness"):
        assert re.search(rf"^  {re.escape(name)} +-?\d+\.\d{{3}} +-?\d", result.output, re.M), name
    assert "peak memory:" in result.output and "GiB RSS" in result.output
    assert re.search(r"trainable parameters: [\d,]+ of [\d,]+ \(", result.output)
    assert f"recipe.yaml, metrics.jsonl: {out}" in result.output
    assert set(run["trend"]) == {"reward", *(f"rewards/{n}/mean" for n in (*OBJECTIVES, "format"))}
    assert 0 < run["parameters"]["trainable"] < run["parameters"]["total"]
    # No library noise: weight-loading and split-generation bars, warnings.
    for noise in ("Loading weights", "Generating train split", "Warning"):
        assert noise not in result.output, noise


def test_grpo_two_steps_unsloth_engine(tmp_path: Path) -> None:
    # A subprocess: `import unsloth` patches transformers/TRL for the whole process.
    out = tmp_path / "unsloth"
    cmd = [sys.executable, "-m", "clinr1", "train"]
    cmd += smoke_args(out, "--set", "grpo.max_steps=2", "--set", "model.engine=unsloth")
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=os.environ)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "engine: unsloth" in proc.stdout
    for noise in ("Loading weights", "Generating train split", "UserWarning"):
        assert noise not in proc.stdout + proc.stderr, noise
    run = check_run(out, 2)
    assert run["engine"] == "unsloth"


def test_resume_continues_from_last_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "resume"
    first = runner.invoke(
        app, ["train", *smoke_args(out, "--set", "grpo.max_steps=2", "--set", "grpo.save_steps=2")]
    )
    assert first.exit_code == 0, first.output
    assert (out / "checkpoint-2" / "trainer_state.json").is_file()
    second = runner.invoke(
        app, ["train", *smoke_args(out, "--set", "grpo.max_steps=4", "--set", "grpo.save_steps=2")]
    )
    assert second.exit_code == 0, second.output
    assert "resuming from" in second.output and "checkpoint-2" in second.output
    state = json.loads((out / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["global_step"] == 4
    # Steps 1-2 were not trained again: the second run logged only steps 3 and 4.
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "reward" in r] == [1, 2, 3, 4]
    run = check_run(out, 4)
    assert run["resumed_from"].endswith("checkpoint-2")


def test_no_resume_starts_over(tmp_path: Path) -> None:
    out = tmp_path / "fresh"
    args = smoke_args(out, "--set", "grpo.max_steps=2", "--set", "grpo.save_steps=2")
    assert runner.invoke(app, ["train", *args]).exit_code == 0
    again = runner.invoke(app, ["train", *args, "--no-resume"])
    assert again.exit_code == 0, again.output
    assert "resuming from" not in again.output
    assert json.loads((out / "run.json").read_text())["resumed_from"] is None


def test_dry_run_loads_no_model(tmp_path: Path) -> None:
    cache = Path(os.environ["CLINR1_CACHE"])
    before = sorted(p.name for p in cache.iterdir()) if cache.exists() else []
    result = runner.invoke(
        app, ["train", str(REPO / "recipes" / "crpo.yaml"), "--dry-run",
              "--set", f"train.output_dir={tmp_path / 'dry'}"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Qwen/Qwen2.5-3B-Instruct" in result.output
    assert "accuracy×10, faithfulness×1, comprehensiveness×1" in result.output
    assert "(max 12)" in result.output
    assert not (tmp_path / "dry").exists()
    after = sorted(p.name for p in cache.iterdir()) if cache.exists() else []
    assert after == before


def test_gpu_recipe_on_cpu_is_one_clear_line(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["train", str(REPO / "recipes" / "crpo.yaml"),
              "--set", f"train.output_dir={tmp_path / 'gpu'}"]
    )  # fmt: skip
    assert result.exit_code == 2
    assert "model.load_in_4bit=true needs a CUDA GPU" in result.stderr
    assert "Traceback" not in result.output


def test_bf16_on_cpu_is_refused_with_the_fix(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["train", *smoke_args(tmp_path / "bf16", "--set", "grpo.bf16=true")]
    )
    assert result.exit_code == 2
    assert "grpo.bf16=true needs a CUDA GPU" in result.stderr


def test_sft_cold_start_on_traces(tmp_path: Path) -> None:
    from clinr1.data import DataSource, load_items
    from clinr1.traces import write_traces

    items = load_items(DataSource(name="demo", limit=8)).items
    traces = write_traces(items, tmp_path / "t.jsonl", compact=True)
    out = tmp_path / "sft"
    result = runner.invoke(
        app,
        ["sft", SMOKE, "--set", f"train.output_dir={out}",
         "--set", f"data.train={{name: jsonl, path: {traces}}}",
         "--set", "sft.max_steps=2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert lora_b_norm(out) > 0
    run = json.loads((out / "run.json").read_text())
    assert run["kind"] == "sft" and run["global_step"] == 2


def test_sft_without_completion_column_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question": "q", "options": {"A": "x", "B": "y"}, "answer": "A"}))
    result = runner.invoke(
        app,
        ["sft", SMOKE, "--set", f"train.output_dir={tmp_path / 'o'}",
         "--set", f"data.train={{name: jsonl, path: {bad}}}"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "needs a 'completion' field" in result.stderr


@pytest.mark.parametrize("engine", ["hf"])
def test_train_run_function_returns_record(tmp_path: Path, engine: str) -> None:
    from clinr1.config import load_recipe
    from clinr1.train import run

    recipe = load_recipe(SMOKE, [f"train.output_dir={tmp_path}", "grpo.max_steps=1",
                                 f"model.name_or_path={os.environ['CLINR1_TEST_START']}",
                                 "data.train.limit=4", f"model.engine={engine}"])  # fmt: skip
    record = run(recipe)
    assert record["global_step"] == 1
    assert "rewards/accuracy/mean" in record["final_metrics"]


def _reward_steps(out: Path) -> list[int]:
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    return [r["step"] for r in records if "reward" in r]


def test_a_finished_run_run_again_trains_nothing(tmp_path: Path) -> None:
    out = tmp_path / "done"
    args = smoke_args(out, "--set", "grpo.max_steps=2", "--set", "grpo.save_steps=2")
    assert runner.invoke(app, ["train", *args]).exit_code == 0
    adapter = (out / "adapter_model.safetensors").read_bytes()
    metrics = (out / "metrics.jsonl").read_text()
    again = runner.invoke(app, ["train", *args])
    assert again.exit_code == 0, again.output
    assert "complete: step 2 of 2 is already trained" in again.output
    assert "step 3" not in again.output and not (out / "checkpoint-3").exists()
    assert (out / "adapter_model.safetensors").read_bytes() == adapter
    assert (out / "metrics.jsonl").read_text() == metrics
    assert json.loads((out / "run.json").read_text())["global_step"] == 2
    # The dry run says so too.
    dry = runner.invoke(app, ["train", *args, "--dry-run"])
    assert "complete at step 2: nothing to train" in dry.output


def test_a_run_stopped_after_its_last_checkpoint_is_finished_from_it(tmp_path: Path) -> None:
    out = tmp_path / "unsaved"
    args = smoke_args(out, "--set", "grpo.max_steps=2", "--set", "grpo.save_steps=2")
    assert runner.invoke(app, ["train", *args]).exit_code == 0
    for name in ("run.json", "adapter_model.safetensors"):
        (out / name).unlink()  # killed between the last checkpoint and the final save
    again = runner.invoke(app, ["train", *args])
    assert again.exit_code == 0, again.output
    assert "nothing to train" in again.output and not (out / "checkpoint-3").exists()
    assert lora_b_norm(out) > 0
    assert json.loads((out / "run.json").read_text())["global_step"] == 2


def test_a_resumed_run_logs_each_step_once(tmp_path: Path) -> None:
    out = tmp_path / "killed"
    args = smoke_args(out, "--set", "grpo.max_steps=3", "--set", "grpo.save_steps=2")
    assert runner.invoke(app, ["train", *args]).exit_code == 0
    # As if killed after step 3 with checkpoint-2 the last one written.
    shutil.rmtree(out / "checkpoint-3")
    (out / "run.json").unlink()
    again = runner.invoke(app, ["train", *args])
    assert again.exit_code == 0, again.output
    assert "log lines after step 2 dropped" in again.output
    assert _reward_steps(out) == [1, 2, 3]


def test_resuming_with_changed_settings_is_refused_unless_allowed(tmp_path: Path) -> None:
    out = tmp_path / "changed"
    first = smoke_args(out, "--set", "grpo.max_steps=2", "--set", "grpo.save_steps=2")
    assert runner.invoke(app, ["train", *first]).exit_code == 0
    assert (out / "recipe.yaml").is_file()
    changed = [*first, "--set", "grpo.max_steps=3", "--set", "grpo.learning_rate=0.5",
               "--set", "grpo.num_generations=2"]  # fmt: skip
    refused = runner.invoke(app, ["train", *changed])
    assert refused.exit_code == 2
    line = refused.stderr.strip()
    assert "\n" not in line and "--allow-changed-settings" in line
    assert "grpo.learning_rate: 0.001 -> 0.5" in line and "grpo.num_generations: 4 -> 2" in line
    assert "max_steps" not in line  # training further is a legitimate resume
    assert not (out / "checkpoint-3").exists()
    allowed = runner.invoke(app, ["train", *changed, "--allow-changed-settings"])
    assert allowed.exit_code == 0, allowed.output
    run = json.loads((out / "run.json").read_text())
    assert run["global_step"] == 3
    assert "grpo.learning_rate: 0.001 -> 0.5" in run["changed_settings"]


def test_changed_settings_ignore_the_schedule_and_the_other_section() -> None:
    from clinr1.config import load_recipe
    from clinr1.runlog import changed_settings

    old = load_recipe(SMOKE).model_dump(mode="json")
    same = load_recipe(
        SMOKE, ["grpo.max_steps=40", "grpo.save_steps=5", "grpo.report_to=none",
                "sft.learning_rate=1", "eval.limit=3", "train.resume=false"]
    ).model_dump(mode="json")  # fmt: skip
    assert changed_settings(old, same, "grpo") == []
    other = load_recipe(
        SMOKE, ["rewards.1.weight=3", "model.lora.r=8", "data.train.limit=2"]
    ).model_dump(mode="json")
    assert changed_settings(old, other, "grpo") == [
        "data.train.limit: None -> 2",
        "model.lora.r: 16 -> 8",
        "rewards.1.weight: 1.0 -> 3.0",
    ]


def test_ctrl_c_says_what_was_kept_and_how_to_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import clinr1.train

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(clinr1.train, "run", interrupted)
    out = tmp_path / "ctrl-c"
    nothing = runner.invoke(app, ["train", *smoke_args(out)])
    assert nothing.exit_code == 130
    assert "nothing is kept; run the same command again to start over" in nothing.stderr
    (out / "checkpoint-2").mkdir(parents=True)
    (out / "checkpoint-2" / "trainer_state.json").write_text('{"global_step": 2}')
    kept = runner.invoke(app, ["train", *smoke_args(out)])
    assert kept.exit_code == 130
    assert f"{out / 'checkpoint-2'} (step 2) is kept" in kept.stderr
    assert "run the same command again to resume from it" in kept.stderr
