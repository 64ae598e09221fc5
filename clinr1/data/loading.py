"""Load a ``DataSource`` into unified items.

Hub ids load through ``datasets.load_dataset(hub, subset, split=...)``, local files through
``load_dataset("json" | "csv" | "parquet", data_files=path)``; both then go through the same split
slicing, adapter and row checks. ``datasets`` is imported inside the functions (it costs seconds).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from clinr1.data.adapters import (
    MMLU_MEDICAL_SUBJECTS,
    Adapter,
    BadRow,
    Context,
    DataError,
    check_item,
    demo_path,
    get_adapter,
    unified,
)
from clinr1.data.source import DataSource
from clinr1.items import Item

_BUILDERS = {
    ".jsonl": ("json", {}),
    ".ndjson": ("json", {}),
    ".json": ("json", {}),
    ".csv": ("csv", {}),
    ".tsv": ("csv", {"delimiter": "\t"}),
    ".parquet": ("parquet", {}),
}
_SPLIT = re.compile(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?$")


@dataclass
class LoadResult:
    """The items of one source, plus what was skipped and why."""

    name: str
    origin: str
    items: list[Item] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    limit: int | None = None

    @property
    def skipped(self) -> int:
        return sum(self.reasons.values())

    def summary(self) -> str:
        """One line, e.g. ``medmcqa dev.json[:50%]: 98 items, 2 bad rows skipped (...)``."""
        line = f"{self.name} {self.origin}: {len(self.items)} items"
        if self.limit is not None:
            line += f" (limit {self.limit})"
        line += f", {self.skipped} bad rows skipped"
        if self.reasons:
            line += " (" + ", ".join(f"{r}: {n}" for r, n in self.reasons.most_common()) + ")"
        return line


def parse_split(spec: str) -> tuple[str, str]:
    """Split ``"train[:50%]"`` into ``("train", "[:50%]")``; a bad spec is a ``DataError``.

    >>> parse_split("validation")
    ('validation', '')
    """
    match = _SPLIT.match(spec.strip())
    if not match:
        raise DataError(f"bad split {spec!r}: use NAME or NAME[slice], e.g. train or train[:50%]")
    return match.group(1), match.group(2) or ""


def load_items(source: DataSource, *, key: str = "data.*") -> LoadResult:
    """Load ``source`` into unified items; ``key`` (e.g. ``data.train``) names it in errors.

    Bad rows are skipped and counted in ``LoadResult.reasons``; with ``source.strict`` they are
    a ``DataError`` instead. ``source.limit`` keeps the first N good items (and stops reading).
    """
    adapter = get_adapter(source.name)
    split = source.split or adapter.split
    base, part = parse_split(split)
    ctx = Context(
        name=adapter.name,
        split=base,
        key=key,
        cop_base=source.cop_base,
        answer_format=source.answer_format or "letter",
        columns=dict(source.columns),
    )
    path = source.path
    if path is None and source.hub is None and adapter.default_path is not None:
        path = adapter.default_path()
    if path is not None:  # a local file is one split, "train"; only the slice applies
        tables = [_load_local(path, part, source, adapter, key)]
        ctx.split = "train"
        origin = f"{path}{part}"
    else:
        hub = source.hub or adapter.hub
        if hub is None:
            raise DataError(f"adapter {adapter.name!r} reads a local file: set {key}.path (--path)")
        ctx.hub = hub
        subsets = _subsets(source.subset) or list(adapter.subsets) or [None]
        tables = [_load_hub(hub, s, base, part, key) for s in subsets]
        origin = hub + (f" ({source.subset})" if source.subset else "") + f" split={split}"

    result = LoadResult(name=adapter.name, origin=origin, limit=source.limit)
    first_bad: tuple[int, str] | None = None
    for row, index, row_ctx in _rows(tables, adapter, ctx, origin):
        if source.limit is not None and len(result.items) >= source.limit:
            break
        try:
            result.items.append(check_item(adapter.convert(row, index, row_ctx)))
        except BadRow as bad:
            result.reasons[bad.reason] += 1
            first_bad = first_bad or (index, bad.reason)
    if source.strict and first_bad is not None:
        counts = ", ".join(f"{r}: {n}" for r, n in result.reasons.most_common())
        raise DataError(
            f"{origin}: {result.skipped} bad rows with {key}.strict: true (first: row "
            f"{first_bad[0]}, {first_bad[1]}; {counts}); fix them or set strict: false"
        )
    return result


def demo_items() -> list[Item]:
    """The bundled demo vignettes, read with the stdlib only (fast; no ``datasets`` import)."""
    ctx = Context(name="demo")
    lines = Path(demo_path()).read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    return [check_item(unified(row, i, ctx)) for i, row in enumerate(rows)]


# --- internals -------------------------------------------------------------------------------


def _subsets(spec: str | None) -> list[str]:
    return [s.strip() for s in spec.split(",") if s.strip()] if spec else []


def _rows(
    tables: list[tuple[Any, Any, int]], adapter: Adapter, ctx: Context, origin: str
) -> Iterator[tuple[dict[str, Any], int, Context]]:
    """Rows of each (whole split, requested slice, slice offset); ``prepare`` sees the whole
    split, so that e.g. MedMCQA's cop base is decided on the file, not on a slice of it."""
    for whole, table, offset in tables:
        missing = [c for c in adapter.required if c not in table.column_names]
        if missing:
            raise DataError(
                f"{origin} has no column {', '.join(missing)} that the {adapter.name} adapter "
                f"reads (columns: {', '.join(table.column_names)}); wrong adapter? a custom file "
                f"uses name: file with columns"
            )
        table_ctx = replace(ctx, columns=dict(ctx.columns))
        if adapter.prepare is not None:
            adapter.prepare(whole, table_ctx)
        for i, row in enumerate(table):
            yield row, offset + i, table_ctx


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _slice(table: Any, base: str, part: str) -> tuple[Any, Any, int]:
    """Apply ``[a:b]`` / ``[:50%]`` to a loaded split: (whole split, slice, slice's first index)."""
    if not part:
        return table, table, 0
    from datasets import ReadInstruction

    try:
        (instr,) = ReadInstruction.from_spec(f"{base}{part}").to_absolute({base: len(table)})
    except (ValueError, AssertionError) as exc:
        raise DataError(f"bad split {base + part!r}: {_first_line(exc)}") from None
    return table, table.select(range(instr.from_, instr.to)), instr.from_


def _load_local(
    path: str, part: str, source: DataSource, adapter: Adapter, key: str
) -> tuple[Any, Any, int]:
    """A local file is one split, ``train``; only the slice part of ``split`` applies."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise DataError(f"no such file: {path} ({key}.path)")
    builder, kwargs = _BUILDERS.get(file.suffix.lower(), (None, {}))
    if builder is None:
        raise DataError(f"cannot read {path}: use a .jsonl, .json, .csv, .tsv or .parquet file")
    import datasets

    try:
        table = datasets.load_dataset(
            builder, data_files=str(file), split="train", keep_in_memory=True, **kwargs
        )
    except Exception as exc:  # any parse failure: one line
        raise DataError(f"could not read {path} as {builder}: {_first_line(exc)}") from None
    if source.subset:
        if adapter.name != "mmlu-medical" or "subject" not in table.column_names:
            raise DataError(f"{key}.subset selects a hub configuration; a local file is read whole")
        subjects = set(_subsets(source.subset))
        table = table.filter(lambda r: r["subject"] in subjects, keep_in_memory=True)
    return _slice(table, "train", part)


def _unreachable(exc: BaseException) -> bool:
    """A network failure or offline mode (``HF_HUB_OFFLINE=1``): ``datasets`` raises
    ``ConnectionError`` for both; raw ``httpx``/``requests`` errors are caught by name."""
    name = type(exc).__name__
    return (
        isinstance(exc, (ConnectionError, TimeoutError)) or "Connect" in name or "Timeout" in name
    )


def _load_hub(hub: str, subset: str | None, base: str, part: str, key: str) -> tuple[Any, Any, int]:
    import datasets

    try:
        table = datasets.load_dataset(hub, subset, split=base)
    except Exception as exc:  # network, config, split: one line
        hint = f"point at a local file with --path FILE (recipe: {key}.path)"
        if _unreachable(exc):
            raise DataError(
                f"could not load {hub} from the Hugging Face hub (offline or unreachable); {hint}"
            ) from None
        where = hub + (f" ({subset})" if subset else "") + f" split {base!r}"
        raise DataError(f"could not load {where}: {_first_line(exc)}; or {hint}") from None
    return _slice(table, base, part)


__all__ = ["MMLU_MEDICAL_SUBJECTS", "LoadResult", "demo_items", "load_items", "parse_split"]
