"""`clinr1 validate`, `--help` and `version` through the real Typer app."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from clinr1.cli import app

runner = CliRunner()
RECIPES = Path(__file__).resolve().parents[2] / "recipes"


def test_validate_prints_resolved_recipe_with_overrides() -> None:
    result = runner.invoke(
        app, ["validate", str(RECIPES / "crpo.yaml"), "--set", "grpo.learning_rate=2e-6"]
    )
    assert result.exit_code == 0, result.output
    assert "name_or_path: Qwen/Qwen2.5-3B-Instruct" in result.stdout
    assert "learning_rate: 2.0e-06" in result.stdout
    assert "recipe is valid" in result.stderr


def test_validate_reports_every_error_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("grpo:\n  learnig_rate: 1.0e-5\nmodel:\n  max_seq_length: lots\n")
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2
    assert "error: grpo.learnig_rate: unknown key" in result.stderr
    assert "error: model.max_seq_length:" in result.stderr
    assert "Traceback" not in result.output


def test_validate_missing_file_is_one_line() -> None:
    result = runner.invoke(app, ["validate", "no/such/recipe.yaml"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: no/such/recipe.yaml: recipe file not found"


def test_version_lists_the_stack() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0
    for name in ("clinr1", "torch", "transformers", "trl", "peft", "unsloth", "cuda"):
        assert name in result.stdout


def test_dash_dash_version_prints_the_version() -> None:
    from importlib import metadata

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"clinr1 {metadata.version('clinr1')}"


def test_help_and_version_import_no_heavy_module() -> None:
    # Start-up speed comes from not importing torch/trl/unsloth on the CLI path; check that.
    code = (
        "import sys; from typer.testing import CliRunner; from clinr1.cli import app; "
        "r = CliRunner(); assert r.invoke(app, ['--help']).exit_code == 0; "
        "assert r.invoke(app, ['version']).exit_code == 0; "
        "assert r.invoke(app, ['--version']).exit_code == 0; "
        "heavy = [m for m in ('torch', 'trl', 'transformers', 'peft', 'unsloth', 'datasets') "
        "if m in sys.modules]; print(heavy); assert not heavy, heavy"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr + out.stdout


def test_report_to_an_integration_that_is_not_installed_is_refused_before_loading(
    monkeypatch, tmp_path: Path
) -> None:
    import clinr1.config

    monkeypatch.setattr(clinr1.config, "integration_installed", lambda name: False)
    smoke = str(RECIPES / "smoke.yaml")
    for args in (
        ["validate", smoke, "--set", "grpo.report_to=tensorboard"],
        ["train", smoke, "--dry-run", "--set", "grpo.report_to=[trackio]",
         "--set", f"train.output_dir={tmp_path}"],
    ):  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "is not installed: pip install 'clinr1[logging]'" in result.stderr
        assert "--set grpo.report_to=none" in result.stderr
    typo = runner.invoke(app, ["validate", smoke, "--set", "sft.report_to=tensorbord"])
    assert typo.exit_code == 2
    assert "sft.report_to: unknown integration 'tensorbord'; valid: none, all, tensorboard" in (
        typo.stderr
    )
    monkeypatch.setattr(clinr1.config, "integration_installed", lambda name: True)
    ok = runner.invoke(app, ["validate", smoke, "--set", "grpo.report_to=tensorboard"])
    assert ok.exit_code == 0, ok.output


def test_the_logging_extra_brings_tensorboard_and_trackio() -> None:
    import tomllib

    pyproject = tomllib.loads((RECIPES.parent / "pyproject.toml").read_text())
    extra = " ".join(pyproject["project"]["optional-dependencies"]["logging"])
    assert "tensorboard" in extra and "trackio" in extra


def _commands() -> list[tuple[str, object]]:
    """Every command of the app, with its name as typed (``data preview``)."""
    import typer

    root = typer.main.get_command(app)
    out = []
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        out += [(f"{name} {n}", c) for n, c in subs.items()] if subs else [(name, cmd)]
    return out


def test_every_help_reads_at_80_columns() -> None:
    import re

    for name, cmd in [("", None), *_commands()]:
        result = runner.invoke(app, [*name.split(), "--help"], env={"COLUMNS": "80"})
        assert result.exit_code == 0, name
        text = result.output
        assert "…" not in text, f"clinr1 {name} --help cuts text"
        cut = [line for line in text.splitlines() if re.search(r"\w\.\.\.$", line)]
        assert not cut, f"clinr1 {name} --help cuts {cut}"  # click's "..." on command lists
        assert max(len(line) for line in text.splitlines()) <= 80, name
        if cmd is None:
            continue
        for param in cmd.params:
            if param.param_type_name != "option" or getattr(param, "is_flag", False):
                continue
            # A short metavar: a word or two in capitals, not Typer's <int range> / <list[str]>.
            assert param.metavar and re.fullmatch(r"[A-Z][A-Z=,.\[\]]{0,14}", param.metavar), (
                name,
                param.name,
                param.metavar,
            )
        # Descriptions start by column 34 and so have at least 44 columns to wrap in.
        for line in text.splitlines():
            described = re.match(r"  -\S.*?\S {2,}(?=\S)", line)
            if described:
                assert described.end() <= 34, (name, line)
    eval_help = runner.invoke(app, ["eval", "--help"], env={"COLUMNS": "80"}).output
    assert len(eval_help.splitlines()) < 100  # was 158 with descriptions 17 columns wide


def test_load_in_4bit_is_spelled_the_same_in_eval_and_chat() -> None:
    flags = {}
    for name, cmd in _commands():
        for param in cmd.params:
            if param.name == "load_in_4bit":
                flags[name] = (*param.opts, *param.secondary_opts)
    assert flags["eval"] == flags["chat"] == ("--load-in-4bit", "--no-load-in-4bit")


def test_ctrl_c_in_any_command_says_what_was_kept(monkeypatch, tmp_path: Path) -> None:
    import clinr1.data
    import clinr1.export

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(clinr1.data, "load_items", ctrl_c)
    preview = runner.invoke(app, ["data", "preview", "demo"])
    assert preview.exit_code == 130
    assert preview.stderr.strip() == "interrupted: nothing was written; run the same command again"
    monkeypatch.setattr(clinr1.export, "export", ctrl_c)
    export = runner.invoke(app, ["export", "--adapter", str(tmp_path), "--to", "lora"])
    assert export.exit_code == 130
    assert "partial export; run the same command again with --overwrite" in export.stderr
