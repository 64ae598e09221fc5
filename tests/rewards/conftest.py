"""The reward tests share their cases through modules next to this file (``crpo_cases``,
``reach``, ``tricks``), importable whatever pytest's import mode; the metamorphic properties'
counts are printed at the end of the run."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

PROPERTY_COUNTS: Counter[str] = Counter()


@pytest.fixture(scope="session")
def property_counts() -> Callable[..., None]:
    """``count(name, n=1)``: record that a metamorphic property held ``n`` more times."""

    def count(name: str, n: int = 1) -> None:
        PROPERTY_COUNTS[name] += n

    return count


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not PROPERTY_COUNTS:
        return
    terminalreporter.section("CRPO reward properties (checks that held)")
    for name, n in sorted(PROPERTY_COUNTS.items()):
        terminalreporter.write_line(f"{n:6d}  {name}")
