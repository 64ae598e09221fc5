"""Progress lines and bars, and the library noise switch (``clinr1.console``)."""

from __future__ import annotations

import io
import re
import subprocess
import sys

from clinr1.console import Progress, duration


def test_progress_in_a_log_is_a_line_with_an_eta() -> None:
    stream = io.StringIO()
    with Progress("medqa", 4, unit="items", done=1, every=3600, stream=stream) as p:
        p.update(2, note="accuracy 50.0%")  # within `every` of the start: no line yet
        assert stream.getvalue() == ""
        p.update(3, force=True)
        p.update(4)  # the last unit always prints
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(
        r"medqa: 3/4 items \(75%\), 0:00:0\d elapsed, eta 0:00:0\d, accuracy 50\.0%", lines[0]
    )
    assert lines[1].startswith("medqa: 4/4 items (100%)") and "eta 0:00:00" in lines[1]


def test_progress_on_a_terminal_is_a_rich_bar() -> None:
    stream = io.StringIO()
    with Progress("training", 10, unit="steps", stream=stream, bar=True) as p:
        assert p.is_bar
        p.update(5, note="reward 1.000")
        p.print("step 5/10 | reward 1.000")
    assert "step 5/10 | reward 1.000" in stream.getvalue()


def test_duration() -> None:
    assert duration(3725) == "1:02:05" and duration(None) == "-:--:--"


def _progress_bars_after(verbose: bool) -> list[bool]:
    code = (
        "from clinr1.console import quiet_libraries; "
        f"quiet_libraries({verbose}); "
        "import datasets, transformers; "
        "from datasets.utils.tqdm import are_progress_bars_disabled; "
        "print(transformers.utils.logging.is_progress_bar_enabled(), "
        "not are_progress_bars_disabled())"
    )
    env = {k: v for k, v in __import__("os").environ.items() if "PROGRESS_BARS" not in k}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    return [x == "True" for x in out.stdout.split()]


def test_library_progress_bars_are_off_unless_verbose() -> None:
    assert _progress_bars_after(False) == [False, False]
    assert _progress_bars_after(True) == [True, True]
