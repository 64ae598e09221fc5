"""What a command shows while it works: one progress bar (or line) with an ETA; no library noise.

* :func:`quiet_libraries` turns off what transformers, datasets, the hub client, TRL, PEFT and
  Unsloth print on their own (``Loading weights`` and ``Generating train split`` bars, advisory
  warnings, info logs) unless ``verbose``. It works before those libraries are imported (through
  their environment variables) and after (through their own switches).
* :class:`Progress` is a rich bar on a terminal; in a log file or a CI job, where a bar would be
  noise, it is a line every few seconds with the same figures (``12/40 items (30%), 0:00:41
  elapsed, eta 0:01:35``).

Standard library at module level (rich loads when a bar is drawn): the CLI imports this at
start-up.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from typing import Any, TextIO

_LIBRARIES = (
    "transformers",
    "datasets",
    "huggingface_hub",
    "trl",
    "peft",
    "accelerate",
    "unsloth",
    "unsloth_zoo",
    "bitsandbytes",
    "torch",
    "vllm",
)
_ENV = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # also transformers' "Loading weights" bar
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",  # "Generating train split", "Map"
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def verbose() -> bool:
    """Whether library output was asked for (``clinr1 --verbose`` or ``CLINR1_VERBOSE=1``)."""
    return os.environ.get("CLINR1_VERBOSE", "").lower() in ("1", "true", "yes")


def quiet_libraries(verbose: bool = False) -> None:
    """Silence the libraries' own progress bars, warnings and info logs, unless ``verbose``."""
    if verbose:
        os.environ["CLINR1_VERBOSE"] = "1"
        return
    for key, value in _ENV.items():
        os.environ.setdefault(key, value)
    for name in _LIBRARIES:
        logging.getLogger(name).setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", module=rf"{name}(\.|$)")
    # The same warnings once they are raised from code the libraries compile at run time.
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=r".*(Unsloth|tokenizer|generation flags|padding)")
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    if "datasets" in sys.modules:
        import datasets

        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_error()


def duration(seconds: float | None) -> str:
    """``0:01:35`` (``-:--:--`` when unknown).

    >>> duration(95.4), duration(None)
    ('0:01:35', '-:--:--')
    """
    if seconds is None or seconds != seconds or seconds < 0:
        return "-:--:--"
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Progress:
    """Progress of ``total`` units: a rich bar on a terminal, else a line every ``every`` seconds.

    ``done`` units were finished before (a resumed run); the ETA is measured on the units done
    since the start. ``note`` is shown after the figures (e.g. ``accuracy 41.0%``)::

        with Progress("medqa", total=1273, unit="items") as p:
            for ...:
                p.update(done, note=f"accuracy {acc:.1%}")
    """

    def __init__(
        self,
        label: str,
        total: int | None,
        *,
        unit: str = "",
        done: int = 0,
        every: float = 10.0,
        stream: TextIO | None = None,
        bar: bool | None = None,
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.start_done = self.done = done
        self.every = every
        self.stream = stream or sys.stderr
        self.note = ""
        self._bar = bar if bar is not None else _is_terminal(self.stream)
        self._rich: Any = None
        self._task: Any = None
        self._started = time.monotonic()
        self._last_line = self._started

    def __enter__(self) -> Progress:
        self._started = self._last_line = time.monotonic()
        if self._bar:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._rich = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(self.unit),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[note]}"),
                console=Console(file=self.stream),
                transient=True,
            )
            self._rich.start()
            self._task = self._rich.add_task(
                self.label, total=self.total, completed=self.done, note=""
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._rich is not None:
            self._rich.stop()
            self._rich = None

    def set_total(self, total: int | None) -> None:
        """The number of units, once known."""
        self.total = total
        if self._rich is not None:
            self._rich.update(self._task, total=total)

    @property
    def is_bar(self) -> bool:
        """Whether a bar is drawn (a terminal) rather than lines."""
        return self._bar

    def seconds_per_unit(self) -> float | None:
        """Mean seconds per unit done since the start, or ``None`` before the first unit."""
        made = self.done - self.start_done
        return (time.monotonic() - self._started) / made if made > 0 else None

    def eta(self) -> float | None:
        """Seconds left at the rate since the start, or ``None`` before the first unit."""
        rate = self.seconds_per_unit()
        if not self.total or rate is None:
            return None
        return max(0.0, (self.total - self.done) * rate)

    def line(self) -> str:
        """``label: 12/40 items (30%), 0:00:41 elapsed, eta 0:01:35, NOTE``."""
        total = f"/{self.total}" if self.total else ""
        unit = f" {self.unit}" if self.unit else ""
        pct = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        elapsed = duration(time.monotonic() - self._started)
        text = f"{self.label}: {self.done}{total}{unit}{pct}, {elapsed} elapsed"
        if self.total:
            text += f", eta {duration(self.eta())}"
        return text + (f", {self.note}" if self.note else "")

    def update(self, done: int, note: str | None = None, *, force: bool = False) -> None:
        """Set the units done; on a terminal the bar moves, else a line every ``every`` s (and
        one at the end)."""
        self.done = done
        if note is not None:
            self.note = note
        if self._rich is not None:
            self._rich.update(self._task, completed=done, note=self.note)
            return
        now = time.monotonic()
        finished = self.total is not None and done >= self.total
        if force or finished or now - self._last_line >= self.every:
            self._last_line = now
            print(self.line(), file=self.stream, flush=True)

    def print(self, text: str, file: TextIO | None = None) -> None:
        """Print a line above the bar (or just print it; it counts as a progress line)."""
        if self._rich is not None:
            self._rich.console.print(text, markup=False, highlight=False)
        else:
            self._last_line = time.monotonic()
            print(text, file=file or self.stream, flush=True)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty()) and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False
