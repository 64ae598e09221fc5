"""``clinr1 score`` through Typer's CliRunner: one completion, a batch, and user errors."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from clinr1.cli import app as clinr1_app
from clinr1.cli.score import score

_spec = importlib.util.spec_from_file_location(
    "crpo_cases_cli", Path(__file__).resolve().parents[1] / "rewards" / "crpo_cases.py"
)
assert _spec and _spec.loader
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)


def _app() -> typer.Typer:
    """The real app once the command is registered there, else a local one around it."""
    names = {
        c.name or (c.callback.__name__ if c.callback else "")
        for c in clinr1_app.registered_commands
    }
    if "score" in names:
        return clinr1_app
    local = typer.Typer()
    local.command()(score)
    local.command()(lambda: None)  # a second command keeps "score" as a sub-command
    return local


APP = _app()
runner = CliRunner()


def invoke(*args: str, input: str | None = None):
    return runner.invoke(APP, ["score", *args], input=input)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "item.json").write_text(json.dumps(cases.ITEM))
    variants = {
        "honest": cases.HONEST,
        "wrong": cases.WRONG_BOX,
        "fabricated": cases.FABRICATED,
        "no_analysis": cases.NO_ANALYSIS,
    }
    for name, text in variants.items():
        (tmp_path / f"{name}.txt").write_text(text)
    return tmp_path


def scores(files: Path, name: str) -> dict:
    result = invoke(
        "--item", str(files / "item.json"), "--completion", str(files / f"{name}.txt"), "--json"
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_acceptance(files: Path) -> None:
    honest = scores(files, "honest")
    for key in ("accuracy", "format", "faithfulness", "comprehensiveness", "total", "extracted"):
        assert key in honest
    assert honest["total"] == pytest.approx(12.0, abs=0.5)  # near 12
    assert honest["extracted"] == "D"
    assert scores(files, "wrong")["accuracy"] == 0.0  # box changed to a wrong letter
    assert scores(files, "fabricated")["faithfulness"] < honest["faithfulness"]
    assert scores(files, "no_analysis")["comprehensiveness"] < honest["comprehensiveness"]


def test_table(files: Path) -> None:
    result = invoke("--item", str(files / "item.json"), "--completion", str(files / "honest.txt"))
    assert result.exit_code == 0
    for word in ("accuracy", "faithfulness", "comprehensiveness", "total", "10.0", "extracted"):
        assert word in result.stdout


def test_completion_from_stdin_and_weights(files: Path) -> None:
    result = invoke(
        "--item",
        str(files / "item.json"),
        "--completion",
        "-",
        "--json",
        "--weight",
        "accuracy=1",
        input=cases.HONEST,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"] == pytest.approx(3.0)


def test_batch(files: Path) -> None:
    items = files / "items.jsonl"
    completions = files / "completions.jsonl"
    items.write_text(
        "\n".join([json.dumps(cases.ITEM), "{not json", json.dumps(cases.ITEM)]) + "\n"
    )
    completions.write_text(
        "\n".join(json.dumps({"completion": t}) for t in (cases.HONEST, "x", cases.WRONG_BOX))
        + "\n"
    )
    result = invoke("--items", str(items), "--completions", str(completions))
    assert result.exit_code == 1  # a malformed line
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [x["line"] for x in lines] == [1, 3]  # the others are still scored
    assert lines[0]["accuracy"] == 1.0 and lines[1]["accuracy"] == 0.0
    assert "line 2" in result.stderr and "invalid JSON" in result.stderr
    assert "Traceback" not in result.output


def test_batch_length_mismatch_and_bad_rows(files: Path) -> None:
    items = files / "items.jsonl"
    completions = files / "completions.jsonl"
    items.write_text(json.dumps(cases.ITEM) + "\n" + json.dumps({"question": "q"}) + "\n")
    completions.write_text(
        "\n".join(json.dumps(x) for x in ({"completion": "a"}, {"completion": "b"}, [1]))
    )
    result = invoke("--items", str(items), "--completions", str(completions), "--json")
    assert result.exit_code == 1
    assert "line 2" in result.stderr and "lacks options, answer" in result.stderr
    assert "line 3" in result.stderr
    assert len(result.stdout.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give either --item and --completion"),  # nothing
        (["--item", "ITEM"], "give either --item and --completion"),  # half a pair
        (["--item", "ITEM", "--completion", "C", "--items", "I"], "give either"),  # both modes
        (["--item", "missing.json", "--completion", "C"], "cannot read item"),  # missing file
        (["--item", "BAD", "--completion", "C"], "invalid JSON"),  # not JSON
        (["--item", "EMPTY", "--completion", "C"], "lacks question, options, answer"),
        (["--item", "ITEM", "--completion", "C", "--template", "xml"], "unknown template"),
        (["--item", "ITEM", "--completion", "C", "--weight", "speed=3"], "--weight takes"),
        (["--item", "ITEM", "--completion", "C", "--weight", "accuracy=x"], "not a number"),
    ],
)
def test_user_errors(files: Path, args: list[str], message: str) -> None:
    (files / "bad.json").write_text("{oops")
    (files / "empty.json").write_text("{}")
    paths = {
        "ITEM": files / "item.json",
        "C": files / "honest.txt",
        "I": files / "item.json",
        "BAD": files / "bad.json",
        "EMPTY": files / "empty.json",
        "missing.json": files / "missing.json",
    }
    result = invoke(*[str(paths.get(a, a)) for a in args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # one clear line
    assert "Traceback" not in result.output


def test_help() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    assert "--completions" in result.stdout and "CRPO" in result.stdout
