"""Benchmarks by name: each is a ``DataSource`` the data adapters load.

The paper's three are ``medqa`` (USMLE, 4 options, test split, 1,273 items), ``medmcqa``
(validation split, 4,183 items) and ``medxpertqa`` (Text config, test split, 2,450 items); also
``pubmedqa`` (pqa_labeled, 1,000 items), ``mmlu-medical`` (six MMLU subjects, test split,
1,089 items) and ``demo`` (the bundled vignettes, no download).

A spec on the command line is ``NAME`` (the hub copy), ``NAME:PATH`` (that benchmark's adapter
on a local file, e.g. ``medmcqa:dev.json``) or ``file:PATH`` (a file already in clinr1's item
schema; the benchmark is named after the file).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clinr1.data.source import DataSource

# name -> (adapter, hub split, hub subset, expected size of the full split)
BENCHMARKS: dict[str, tuple[str, str, str | None, int | None]] = {
    "medqa": ("medqa", "test", None, 1273),
    "medmcqa": ("medmcqa", "validation", None, 4183),
    "medxpertqa": ("medxpertqa", "test", "Text", 2450),
    "pubmedqa": ("pubmedqa", "train", "pqa_labeled", 1000),
    "mmlu-medical": ("mmlu-medical", "test", None, 1089),
    "demo": ("demo", "train", None, None),
}
PAPER_BENCHMARKS = ("medqa", "medmcqa", "medxpertqa")


class BenchmarkError(ValueError):
    """An unknown benchmark name or a malformed spec; the message is one line."""


@dataclass
class Benchmark:
    """A resolved benchmark: its name in outputs and where its items come from."""

    name: str
    source: DataSource
    expected: int | None = None  # size of the full hub split, to flag a partial download


def resolve_benchmark(spec: str, *, path: str | None = None, limit: int | None = None) -> Benchmark:
    """Turn ``NAME``, ``NAME:PATH`` or ``file:PATH`` into a :class:`Benchmark`.

    ``path`` (``--path``) is the same as ``NAME:PATH``. A local file is read whole (its own
    split), so ``expected`` is only kept for hub copies.

    >>> resolve_benchmark("medmcqa").source.split
    'validation'
    >>> b = resolve_benchmark("file:data/my_items.jsonl")
    >>> b.name, b.source.name
    ('my_items', 'unified')
    """
    spec = spec.strip()
    name, _, spec_path = spec.partition(":")
    name = name.strip().lower()
    spec_path = spec_path.strip() or None
    if spec_path and path:
        raise BenchmarkError(f"benchmark {spec!r} already names a file; drop --path")
    file = spec_path or path
    if name == "file":
        if not file:
            raise BenchmarkError("file: needs a path, e.g. --benchmark file:items.jsonl")
        return Benchmark(
            name=Path(file).stem, source=DataSource(name="unified", path=file, limit=limit)
        )
    if name not in BENCHMARKS:
        raise BenchmarkError(
            f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}, "
            "NAME:PATH for a local copy, or file:PATH for items in clinr1's schema"
        )
    adapter, split, subset, expected = BENCHMARKS[name]
    if file:
        return Benchmark(name=name, source=DataSource(name=adapter, path=file, limit=limit))
    source = DataSource(name=adapter, split=split, subset=subset, limit=limit)
    return Benchmark(name=name, source=source, expected=None if limit else expected)


def parse_benchmarks(
    specs: str | list[str], *, path: str | None = None, limit: int | None = None
) -> list[Benchmark]:
    """Resolve a comma list (or a list of specs); names must be unique."""
    items = specs.split(",") if isinstance(specs, str) else [s for x in specs for s in x.split(",")]
    items = [s for s in items if s.strip()]
    if not items:
        raise BenchmarkError("no benchmark given: --benchmark medqa[,medmcqa,...]")
    if path and len(items) > 1:
        raise BenchmarkError("--path applies to one benchmark; use NAME:PATH for each instead")
    out = [resolve_benchmark(s, path=path, limit=limit) for s in items]
    names = [b.name for b in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise BenchmarkError(f"benchmark given twice: {', '.join(dupes)}")
    return out
