"""The embedded-default pipeline: the reward trend, and the demo end to end (few steps)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from clinr1.cli import app
from clinr1.demo import reward_trend


def test_reward_trend_compares_first_and_last_logs() -> None:
    logs = [
        {"step": 1, "reward": 1.0, "rewards/accuracy/mean": 0.1},
        {"step": 2, "reward": 2.0, "rewards/accuracy/mean": 0.2},
        {"step": 3, "reward": 5.0, "rewards/accuracy/mean": 0.5},
        {"step": 3, "train_runtime": 9.0},
    ]
    assert reward_trend(logs, ["accuracy"], window=1) == [
        ("reward", 1.0, 5.0),
        ("accuracy", 0.1, 0.5),
    ]


def test_demo_runs_end_to_end_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--set", "sft.max_steps=10", "--set", "grpo.max_steps=2",
            "--set", "eval.limit=2", "--set", "eval.max_new_tokens=16"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    for stage in ("sft", "crpo"):
        assert (out / stage / "run.json").is_file()
    for stage in ("eval-before", "eval-after"):
        assert (out / stage / "summary.json").is_file()
    assert "CRPO total (max 12)" in result.output
    assert "before" in result.output and "after" in result.output
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "done already" in again.output
