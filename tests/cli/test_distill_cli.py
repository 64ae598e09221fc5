"""``clinr1 distill`` options and the errors a user can cause (no teacher needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from clinr1.cli.distill import distill

runner = CliRunner()


def command() -> tuple[typer.Typer, list[str]]:
    """The real app's ``distill`` once registered, else a one-command app around it."""
    from clinr1.cli import app

    if any((c.name or c.callback.__name__) == "distill" for c in app.registered_commands):
        return app, ["distill"]
    local = typer.Typer(add_completion=False)
    local.command()(distill)
    return local, []


def test_help_documents_every_option() -> None:
    app, prefix = command()
    result = runner.invoke(app, [*prefix, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    cmd = typer.main.get_command(app)
    if prefix:
        cmd = cmd.commands["distill"]  # type: ignore[attr-defined]
    options = [p for p in cmd.params if p.param_type_name == "option" and p.name != "help"]
    assert len(options) >= 25
    for option in options:
        assert option.help, f"{option.name} has no help"
        for flag in (*option.opts, *option.secondary_opts):
            assert flag in result.output, flag
    for needed in ("--min-faithfulness", "--min-comprehensiveness", "--split", "--workers"):
        assert needed in result.output
    assert "docs/distill.md" in result.output


BASE = ["--teacher-url", "http://127.0.0.1:9/v1", "--teacher-model", "t"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        # a template the rewards do not know
        (["--data", "demo", "--template", "chatml"], "unknown prompt template 'chatml'"),
        # a keep mode that does not exist
        (["--data", "demo", "--keep", "most"], "unknown keep mode 'most'"),
        # an adapter that does not exist
        (["--data", "medqaa"], "unknown adapter 'medqaa'"),
        # a local file that is not there
        (["--data", "unified", "--path", "nope.jsonl"], "no such file: nope.jsonl"),
        # a bad split spec
        (["--data", "demo", "--split", "train[:50%"], "bad split"),
    ],
)
def test_user_errors_are_one_line(tmp_path: Path, extra: list[str], message: str) -> None:
    app, prefix = command()
    out = tmp_path / "t.jsonl"
    result = runner.invoke(app, [*prefix, *BASE, *extra, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output and not out.exists()


def test_out_must_be_a_file(tmp_path: Path) -> None:
    app, prefix = command()
    result = runner.invoke(app, [*prefix, *BASE, "--data", "demo", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "is a folder" in result.stderr


def test_a_teacher_that_is_down_fails_the_command_with_the_first_error(tmp_path: Path) -> None:
    app, prefix = command()
    out = tmp_path / "t.jsonl"
    args = [*BASE, "--data", "demo", "--limit", "2", "--retries", "0", "--out", str(out)]
    result = runner.invoke(app, [*prefix, *args])
    assert result.exit_code == 1, result.output
    assert "2 tried: 0 kept, 0 all rejected, 2 failed" in result.stderr
    assert "first error: " in result.stderr
    # Progress in a log: a line with the ETA (a bar on a terminal).
    assert "distilling: 2/2 items (100%), 0:00:0" in result.stderr
    assert "eta 0:00:00, 0 kept" in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the teacher answered none of the 2 items tried")
