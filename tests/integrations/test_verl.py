"""The verl bridge: compute_score is `clinr1 score`, and export-verl writes verl's RL parquet.

verl is not installed here; the contract it calls (``compute_score(data_source=, solution_str=,
ground_truth=, extra_info=)``, a dict with ``score``, the module loaded by file path) is
exercised directly, as verl's reward manager would.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from clinr1.cli import app
from clinr1.cli.score import score
from clinr1.cli.verl import export_verl
from clinr1.data import demo_items
from clinr1.integrations import verl
from clinr1.integrations.verl import PARTS, compute_score, verl_rows

runner = CliRunner()
COLUMNS = ["data_source", "prompt", "ability", "reward_model", "extra_info"]
INFO_KEYS = {"split", "index", "id", "question", "context", "options", "answer_text", "template"}


def _cli(*commands) -> typer.Typer:
    cli = typer.Typer()
    for command in commands:
        cli.command(command.__name__.replace("_", "-"))(command)
    return cli


def _completions(item) -> list[str]:
    """Completions of every kind for ``item``: structured right and wrong, bare, empty, junk."""
    words = item.question.split()
    quotes = " ".join(f'"{" ".join(words[i : i + 4])}"' for i in (0, 4, 8))
    wrong = next(k for k in item.options if k != item.answer)
    analysis = "\n".join(
        f"Option {k} ({v}): " + ("supported by the findings." if k == item.answer else "ruled out.")
        for k, v in item.options.items()
    )

    def crpo(letter: str) -> str:
        return (
            f"<dx>\nKey findings: {quotes}.\n{analysis}\n</dx>\n"
            f"<conclusion>\nThe findings {quotes} support it. \\boxed{{{letter}}}\n</conclusion>"
        )

    return [crpo(item.answer), crpo(wrong), f"The answer is {item.answer}.", "", "<dx>\x00\ud7ff"]


def test_compute_score_equals_clinr1_score_on_the_same_items(tmp_path: Path) -> None:
    items = demo_items()[:8]
    rows = verl_rows(items)
    pairs = [(r, text) for r, item in zip(rows, items, strict=True) for text in _completions(item)]
    (tmp_path / "items.jsonl").write_text(
        "".join(json.dumps(items[r["extra_info"]["index"]].to_dict()) + "\n" for r, _ in pairs)
    )
    (tmp_path / "completions.jsonl").write_text(
        "".join(json.dumps({"completion": t}) + "\n" for _, t in pairs)
    )
    result = runner.invoke(
        _cli(score),
        ["--items", str(tmp_path / "items.jsonl"),
         "--completions", str(tmp_path / "completions.jsonl")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    expected = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(expected) == len(pairs)
    totals = set()
    for (row, text), want in zip(pairs, expected, strict=True):
        got = compute_score(
            data_source=row["data_source"],
            solution_str=text,
            ground_truth=row["reward_model"]["ground_truth"],
            extra_info=row["extra_info"],
        )
        assert set(got) == {"score", *PARTS}  # the same keys on every call: verl logs each
        assert got["score"] == pytest.approx(want["total"], abs=1e-6)
        for part in PARTS:
            assert got[part] == pytest.approx(want[part], abs=1e-6), part
        totals.add(round(got["score"], 3))
    assert max(totals) > 10 and min(totals) == 0  # the cases cover the range, not one value


def test_compute_score_loads_by_file_path_as_verl_does() -> None:
    # verl's custom_reward_function.path: spec_from_file_location, outside the package.
    spec = importlib.util.spec_from_file_location("custom_module_test", verl.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    row = verl_rows(demo_items()[:1])[0]
    text = _completions(demo_items()[0])[0]
    info = dict(row["extra_info"], num_turns=None, rollout_reward_scores={})  # what verl adds
    got = module.compute_score(
        data_source=row["data_source"],
        solution_str=text,
        ground_truth=row["reward_model"]["ground_truth"],
        extra_info=info,
        reward_router_address=None,  # extra keyword arguments some verl managers pass
    )
    assert got == compute_score(row["data_source"], text, row["reward_model"]["ground_truth"], info)
    assert got["accuracy"] == 1.0


def test_reward_kwargs_set_weights_and_template() -> None:
    row = verl_rows(demo_items()[:1])[0]
    text = _completions(demo_items()[0])[0]
    args = (row["data_source"], text, "E" if row["reward_model"]["ground_truth"] != "E" else "A")
    # Accuracy only, weight 1: a wrong answer is 0 whatever the reasoning.
    assert compute_score(*args, row["extra_info"], weights={"accuracy": 1.0})["score"] == 0.0
    plain = compute_score(row["data_source"], text, row["reward_model"]["ground_truth"],
                          row["extra_info"], template="plain")  # fmt: skip
    assert set(plain) == {"score", *PARTS}


@pytest.mark.parametrize(
    ("solution", "truth", "info"),
    [
        (None, "A", None),  # no response text at all
        ("\\boxed{A}", None, {}),  # no ground truth
        ("\\boxed{A}", "A", {"options": "not json"}),  # unreadable options
        ("\\boxed{A}", "A", {"options": 3, "question": None}),  # wrong types
        ("\\boxed{A}", "A", "extra_info as a string"),  # not a mapping
        ("\\boxed{A}", "A", {"template": "no-such-template"}),  # unknown template
    ],
)
def test_compute_score_never_raises(solution, truth, info) -> None:
    got = compute_score("clinr1/demo", solution, truth, info)
    assert set(got) == {"score", *PARTS}
    assert all(isinstance(v, float) for v in got.values())


def test_export_verl_round_trips_with_the_expected_columns(tmp_path: Path) -> None:
    import pyarrow.parquet as pq
    from datasets import Dataset

    out = tmp_path / "sub" / "demo.parquet"
    result = runner.invoke(_cli(export_verl), ["demo", "--out", str(out), "--limit", "6"])
    assert result.exit_code == 0, result.output
    assert "wrote 6 rows" in result.stdout and "6 items" in result.stderr

    table = pq.read_table(out)
    assert table.column_names == COLUMNS
    assert set(table.schema.field("extra_info").type.names) == INFO_KEYS
    assert str(table.schema.field("extra_info").type.field("options").type) == "string"
    rows = Dataset.from_parquet(str(out)).to_list()  # how verl's RLHFDataset reads it
    items = demo_items()[:6]
    assert rows == verl_rows(items)
    for i, (row, item) in enumerate(zip(rows, items, strict=True)):
        assert row["data_source"] == "clinr1/demo" and row["ability"] == "medicine"
        assert [m["role"] for m in row["prompt"]] == ["system", "user"]
        assert row["reward_model"] == {"style": "rule", "ground_truth": item.answer}
        info = row["extra_info"]
        assert info["index"] == i and info["id"] == item.id and info["split"] == "train"
        assert json.loads(info["options"]) == item.options and info["template"] == "crpo"
        assert verl.item_from_verl(row["reward_model"]["ground_truth"], info)["options"] == (
            item.options
        )


def test_export_verl_keeps_one_schema_across_option_counts(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    source = tmp_path / "mixed.jsonl"
    counts = (4, 5, 10)
    lines = [
        {"id": f"q{n}", "question": f"Which of {n}?", "answer": "B",
         "options": {chr(65 + k): f"choice {k}" for k in range(n)}}
        for n in counts
    ]  # fmt: skip
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "mixed.parquet"
    result = runner.invoke(
        _cli(export_verl),
        ["file", "--path", str(source), "--out", str(out), "--split", "test", "--template", "r1"],
    )
    assert result.exit_code == 0, result.output
    rows = pq.read_table(out).to_pylist()
    assert [len(json.loads(r["extra_info"]["options"])) for r in rows] == list(counts)
    assert {r["extra_info"]["split"] for r in rows} == {"test"}
    assert {r["extra_info"]["template"] for r in rows} == {"r1"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "--out", "x.parquet", "--template", "nope"], "unknown template 'nope'"),
        (["demo", "--out", "x.jsonl"], "give a .parquet file name"),
        (["no-such-adapter", "--out", "x.parquet"], "no-such-adapter"),
        (["file", "--path", "missing.jsonl", "--out", "x.parquet"], "missing.jsonl"),
    ],
)
def test_export_verl_errors_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(_cli(export_verl), args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "x.parquet").exists()


def test_registered_as_clinr1_data_export_verl() -> None:
    # Wired by clinr1/cli/__init__.py: data_app.command("export-verl")(export_verl).
    result = runner.invoke(app, ["data", "export-verl", "--help"])
    assert result.exit_code == 0, result.output
    assert "--out" in result.output


def test_verl_launch_script_is_the_paper_setting(repo: Path) -> None:
    import re
    import subprocess

    script = repo / "recipes" / "verl" / "run_crpo_qwen2.5-3b.sh"
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    text = script.read_text()
    overrides = dict(re.findall(r"^\s+([\w.]+)=(\S+?)\s*\\?$", text, flags=re.M))
    paper = {
        "algorithm.adv_estimator": "grpo",
        "actor_rollout_ref.rollout.n": "5",
        "actor_rollout_ref.actor.optim.lr": "1e-6",
        "actor_rollout_ref.actor.use_kl_loss": "True",
        "actor_rollout_ref.actor.kl_loss_coef": "0.001",
        "data.max_response_length": "4096",
        "custom_reward_function.path": '"$REWARD"',
        "custom_reward_function.name": "compute_score",
    }
    for key, value in paper.items():
        assert overrides.get(key) == value, key
    assert "Qwen/Qwen2.5-3B-Instruct" in text and "NGPUS=${NGPUS:-8}" in text
    assert "import clinr1.integrations.verl" in text and "export-verl" in text
