"""The cold start's data: a traces JSONL into prompt/completion pairs (training: test_train)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinr1.data import demo_items
from clinr1.sft import SFTDataError, traces_to_dataset
from clinr1.traces import write_traces


def test_sft_traces_skip_unreadable_lines(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    traces = write_traces(demo_items()[:3], tmp_path / "t.jsonl", compact=True)
    lines = traces.read_bytes().splitlines()
    traces.write_bytes(b"\n".join([lines[0], b"{torn", *lines[1:]]) + b"\n")
    dataset = traces_to_dataset(traces, "crpo")
    assert len(dataset) == 3
    assert "unreadable line 2" in capsys.readouterr().out


def test_sft_traces_empty_or_missing_is_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(SFTDataError, match="is empty"):
        traces_to_dataset(empty, "crpo")
    with pytest.raises(SFTDataError, match="traces file not found"):
        traces_to_dataset(tmp_path / "missing.jsonl", "crpo")
