"""`clinr1 data preview` through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from clinr1.cli.data import data_app

runner = CliRunner()
FIXTURES = Path(__file__).resolve().parents[1] / "data"


def _app() -> typer.Typer:
    """The real app once ``data`` is registered there; until then a wrapper around ``data_app``."""
    from clinr1.cli import app

    if any(group.name == "data" for group in app.registered_groups):
        return app
    wrapper = typer.Typer()
    wrapper.add_typer(data_app, name="data")
    return wrapper


APP = _app()


def preview(*args: str):
    return runner.invoke(APP, ["data", "preview", *args])


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


def test_preview_medmcqa_sample_as_json_lines(shared_data: Path) -> None:
    result = preview(
        "medmcqa", "--path", str(shared_data / "medmcqa_dev_sample.jsonl"), "--n", "3", "--json"
    )
    assert result.exit_code == 0, result.output
    items = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(items) == 3
    assert list(items[0]) == [
        "id", "source", "question", "options", "answer", "answer_text", "explanation", "context",
        "meta",
    ]  # fmt: skip
    assert (items[0]["answer"], items[0]["answer_text"]) == ("B", "Average")
    assert result.stderr.strip() == (
        f"medmcqa {shared_data / 'medmcqa_dev_sample.jsonl'}: 3 items (limit 3), 0 bad rows skipped"
    )


def test_preview_medqa_sample_gives_five_options(shared_data: Path) -> None:
    result = preview(
        "medqa",
        "--path",
        str(shared_data / "medqa_usmle_test_sample.jsonl"),
        "--n",
        "100",
        "--json",
    )
    assert result.exit_code == 0, result.output
    items = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(items) == 100
    assert all(list(i["options"]) == list("ABCDE") for i in items)


def test_preview_renders_readable_panels() -> None:
    result = preview("demo", "--n", "2")
    assert result.exit_code == 0, result.output
    assert "demo-001" in result.stdout and "demo-002" in result.stdout
    assert "✓ E. Diabetic ketoacidosis" in result.stdout
    assert "Explanation:" in result.stdout
    assert "2 items (limit 2)" in result.stderr


def test_preview_bad_rows_summary_and_strict() -> None:
    path = str(FIXTURES / "medqa_bad_rows.jsonl")
    ok = preview("medqa", "--path", path, "--json")
    assert ok.exit_code == 0
    assert len(ok.stdout.splitlines()) == 1
    assert "3 bad rows skipped" in ok.stderr
    assert_one_line_error(preview("medqa", "--path", path, "--strict"), "strict: true")


def test_preview_generic_with_column_flags() -> None:
    result = preview(
        "csv",
        "--path", str(FIXTURES / "generic_index1.csv"),
        "--column", "question=stem",
        "--column", "options=choice1,choice2,choice3",
        "--column", "answer=gold",
        "--answer-format", "index1",
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    first = json.loads(result.stdout.splitlines()[0])
    assert (first["answer"], first["answer_text"]) == ("B", "Protamine sulfate")


def test_preview_cop_base_flag() -> None:
    path = str(FIXTURES / "medmcqa_ambiguous.jsonl")
    assert_one_line_error(preview("medmcqa", "--path", path), "--cop-base", "cop_base")
    result = preview("medmcqa", "--path", path, "--cop-base", "1", "--json", "--n", "1")
    assert json.loads(result.stdout)["answer_text"] == "60-100"


def test_preview_errors_are_one_line(monkeypatch) -> None:
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    assert_one_line_error(preview("medmcqa"), "offline or unreachable", "--path FILE")
    assert_one_line_error(preview("medqaa"), "unknown adapter 'medqaa'", "medmcqa")
    assert_one_line_error(preview("medqa", "--path", "nope.jsonl"), "no such file: nope.jsonl")
    assert_one_line_error(preview("file", "--path", "a.csv", "--column", "stem"), "FIELD=COLUMN")
    assert_one_line_error(preview("medqa", "--cop-base", "1"), "cop_base applies to medmcqa")


def test_preview_skips_unreadable_lines_and_names_them(tmp_path: Path) -> None:
    good = (FIXTURES / "medqa_hub_4options.jsonl").read_bytes().splitlines()
    path = tmp_path / "torn.jsonl"
    path.write_bytes(b"\n".join([good[0], b"\xff not json", good[1], b'{"q": ']) + b"\n")
    result = preview("medqa", "--path", str(path), "--json")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 2
    assert "2 bad rows skipped" in result.stderr and "unreadable lines 2, 4" in result.stderr
    assert "Traceback" not in result.output and "DatasetGenerationError" not in result.output


def test_preview_empty_file_folder_and_missing_folder_are_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert_one_line_error(preview("medqa", "--path", str(empty)), "is empty")
    assert_one_line_error(preview("medqa", "--path", str(tmp_path)), "is a folder")
    assert_one_line_error(preview("medqa", "--hub", "./no/such/folder"), "no such folder")


def test_traces_writes_verified_traces_for_sft(tmp_path: Path) -> None:
    from clinr1.items import Item
    from clinr1.rewards import score_completion

    out = tmp_path / "traces.jsonl"
    result = runner.invoke(
        APP, ["data", "traces", "demo", "--limit", "6", "--wordings", "2", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "wrote 12 traces for 6 of 6 items" in result.stdout
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len({r["completion"] for r in rows}) == 12  # two wordings of each item
    for row in rows:  # what `clinr1 sft` reads: the item's fields and a verified completion
        s = score_completion(row["completion"], Item.from_dict(row))
        assert s["accuracy"] == 1.0 and s["faithfulness"] >= 0.6 and s["comprehensiveness"] >= 0.6


def test_traces_bad_output_name_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(APP, ["data", "traces", "demo", "--out", str(tmp_path / "t.txt")])
    assert_one_line_error(result, "--out", ".jsonl")
    assert not list(tmp_path.iterdir())


def test_traces_brief_writes_shorter_verified_traces(tmp_path: Path) -> None:
    def words(*flags: str) -> int:
        out = tmp_path / f"t{len(flags)}.jsonl"
        result = runner.invoke(
            APP, ["data", "traces", "demo", "--limit", "8", *flags, "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert len(rows) == 8
        return sum(len(r["completion"].split()) for r in rows)

    assert words("--brief") < 0.85 * words()
