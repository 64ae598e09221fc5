"""``clinr1 eval`` and ``clinr1 compare`` through Typer's CliRunner, on the tiny model."""

from __future__ import annotations

import inspect
import json
import re
import typing
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from clinr1.cli.evaluate import compare, eval_


def _app() -> typer.Typer:
    """The real app once ``eval``/``compare`` are registered there, else one built here."""
    from clinr1.cli import app

    names = {c.name or c.callback.__name__ for c in app.registered_commands}
    if {"eval", "compare"} <= names:
        return app
    local = typer.Typer(pretty_exceptions_enable=False)
    local.command("eval")(eval_)
    local.command()(compare)
    return local


runner = CliRunner()


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.mark.parametrize("command", [eval_, compare])
def test_help_documents_every_option(command) -> None:
    name = "eval" if command is eval_ else "compare"
    result = runner.invoke(_app(), [name, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = _plain(result.output)
    hints = typing.get_type_hints(command, include_extras=True)
    for param in inspect.signature(command).parameters.values():
        meta = getattr(hints[param.name], "__metadata__", ())
        option = next((m for m in meta if hasattr(m, "help")), None)
        assert option is not None and option.help, f"{name} {param.name} has no help"
        flag = "--" + param.name.rstrip("_").replace("_", "-")
        if param.name not in ("runs",):
            assert flag in text or param.name == "set_", f"{flag} missing from {name} --help"


def test_eval_then_resume_then_compare(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["eval", "-m", "tiny-random-qwen2", "--engine", "hf", "-b", "demo", "--out", str(out)]
    args += ["--max-new-tokens", "16", "--batch-size", "3", "--no-load-in-4bit"]
    first = runner.invoke(_app(), [*args, "--limit", "3"])
    assert first.exit_code == 0, first.output
    assert len((out / "generations.jsonl").read_text().splitlines()) == 3
    second = runner.invoke(_app(), [*args, "--limit", "6", "--json"])
    assert second.exit_code == 0, second.output
    summary = json.loads(second.stdout[second.stdout.index("{") :])
    assert summary["generated_this_run"] == {"demo": 3}  # the first 3 were not redone
    assert summary["benchmarks"]["demo"]["n_items"] == 6
    for name in ("generations.jsonl", "summary.json", "report.md"):
        assert (out / name).is_file()

    table = runner.invoke(_app(), ["compare", str(out), str(out), "--label", "a", "--label", "b"])
    assert table.exit_code == 0, table.output
    assert "| demo | accuracy (%) |" in table.stdout and "| Δ |" in table.stdout
    as_json = runner.invoke(_app(), ["compare", str(out), "--json", "--metrics", "accuracy"])
    assert json.loads(as_json.stdout)["rows"][0]["metric"] == "accuracy"


def test_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    done = tmp_path / "done"
    done.mkdir()
    summary = {"model": "m", "benchmarks": {"demo": {"accuracy": 0.5}}}
    (done / "summary.json").write_text(json.dumps(summary))
    cases = [
        ["eval", "-b", "demo"],  # no model
        ["eval", "-m", "tiny-random-qwen2", "-b", "medqq", "--out", str(tmp_path / "a")],
        ["eval", "-m", "x", "--judge-url", "http://127.0.0.1:9/v1"],  # judge model missing
        ["eval", "-m", "tiny-random-qwen2", "--samples", "3", "--out", str(tmp_path / "b")],
        ["compare", str(tmp_path)],
        ["compare", str(done), "--metrics", "acuracy"],
    ]
    for args in cases:
        result = runner.invoke(_app(), args)
        assert result.exit_code == 2, (args, result.output)
        lines = [x for x in _plain(result.stderr).splitlines() if x.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:"), (args, result.stderr)
        assert "Traceback" not in result.output
    assert "unknown metric 'acuracy'; the runs have: accuracy" in result.stderr


def test_ctrl_c_says_what_was_kept_and_how_to_go_on(tmp_path: Path, monkeypatch) -> None:
    import clinr1.evaluate

    out = tmp_path / "run"

    def killed(*args, **kwargs):
        out.mkdir()
        (out / "generations.jsonl").write_text('{"id": 1}\n{"id": 2}\n')
        raise KeyboardInterrupt

    monkeypatch.setattr(clinr1.evaluate, "run_eval", killed)
    result = runner.invoke(_app(), ["eval", "-m", "tiny-random-qwen2", "--out", str(out)])
    assert result.exit_code == 130
    assert "interrupted: 2 completions are kept in" in result.stderr
    assert "run the same command again to generate only the rest" in result.stderr
