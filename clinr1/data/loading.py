"""Load a ``DataSource`` into unified items.

Hub ids load through ``datasets.load_dataset(hub, subset, split=...)``, local files through
``load_dataset("json" | "csv" | "parquet", data_files=path)``; both then go through the same split
slicing, adapter and row checks. ``datasets`` is imported inside the functions (it costs seconds).

A JSON-lines file with unreadable lines (torn JSON, invalid UTF-8, a value that is not an object)
loads without them: they are skipped and counted like bad rows, with their 1-based line numbers
(:func:`read_table`). An empty file, a folder given as a file and a local folder that does not
exist are each one line.
"""

from __future__ import annotations

import json
import logging
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
_JSON_LINES = (".jsonl", ".ndjson", ".json")
UNREADABLE = "unreadable line"


@dataclass
class LoadResult:
    """The items of one source, plus what was skipped and why."""

    name: str
    origin: str
    items: list[Item] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    limit: int | None = None
    bad_lines: list[int] = field(default_factory=list)  # 1-based lines that could not be read

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
        if self.bad_lines:
            line += "; unreadable " + line_list(self.bad_lines)
        return line


def line_list(numbers: list[int], most: int = 10) -> str:
    """``lines 3, 5`` (the first ``most``, then how many more).

    >>> line_list([3]), line_list(list(range(1, 14)), most=3)
    ('line 3', 'lines 1, 2, 3 and 10 more')
    """
    shown = ", ".join(map(str, numbers[:most]))
    more = f" and {len(numbers) - most} more" if len(numbers) > most else ""
    return f"line{'s' if len(numbers) > 1 else ''} {shown}{more}"


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
    bad_lines: list[int] = []
    if path is not None:  # a local file is one split, "train"; only the slice applies
        table, bad_lines = _load_local(path, part, source, adapter, key)
        tables = [table]
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

    result = LoadResult(name=adapter.name, origin=origin, limit=source.limit, bad_lines=bad_lines)
    first_bad: tuple[str, str] | None = None
    if bad_lines:
        result.reasons[UNREADABLE] += len(bad_lines)
        first_bad = (f"line {bad_lines[0]}", UNREADABLE)
    for row, index, row_ctx in _rows(tables, adapter, ctx, origin):
        if source.limit is not None and len(result.items) >= source.limit:
            break
        try:
            result.items.append(check_item(adapter.convert(row, index, row_ctx)))
        except BadRow as bad:
            result.reasons[bad.reason] += 1
            first_bad = first_bad or (f"row {index}", bad.reason)
    if source.strict and first_bad is not None:
        counts = ", ".join(f"{r}: {n}" for r, n in result.reasons.most_common())
        raise DataError(
            f"{origin}: {result.skipped} bad rows with {key}.strict: true (first: "
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
    tables: list[tuple[Any, Any, int, list[int] | None]],
    adapter: Adapter,
    ctx: Context,
    origin: str,
) -> Iterator[tuple[dict[str, Any], int, Context]]:
    """Rows of each (whole split, requested slice, slice offset, row positions); ``prepare`` sees
    the whole split, so that e.g. MedMCQA's cop base is decided on the file, not on a slice of it.
    ``positions`` (a file read without its unreadable lines) maps a row to its index in the
    file, so that ids made from the index do not shift."""
    for whole, table, offset, positions in tables:
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
            yield row, positions[offset + i] if positions else offset + i, table_ctx


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
) -> tuple[tuple[Any, Any, int, list[int] | None], list[int]]:
    """A local file is one split, ``train``; only the slice part of ``split`` applies.

    Returns (whole, slice, offset, row positions) and the unreadable lines skipped.
    """
    file = check_local_file(path, f"{key}.path")
    table, bad_lines, positions = read_table(file)
    if source.subset:
        if adapter.name != "mmlu-medical" or "subject" not in table.column_names:
            raise DataError(f"{key}.subset selects a hub configuration; a local file is read whole")
        subjects = set(_subsets(source.subset))
        keep = [i for i, s in enumerate(table["subject"]) if s in subjects]
        table = table.select(keep, keep_in_memory=True)
        positions = [positions[i] for i in keep] if positions else keep
    return (*_slice(table, "train", part), positions), bad_lines


def check_local_file(path: str | Path, where: str) -> Path:
    """``path`` as a readable data file, or a one-line ``DataError`` (missing, folder, empty)."""
    file = Path(path).expanduser()
    if file.is_dir():
        raise DataError(
            f"{path} is a folder, not a file ({where}): name the .jsonl, .json, .csv, .tsv or "
            ".parquet file inside it"
        )
    if not file.is_file():
        raise DataError(f"no such file: {path} ({where})")
    if file.suffix.lower() not in _BUILDERS:
        raise DataError(f"cannot read {path}: use a .jsonl, .json, .csv, .tsv or .parquet file")
    size = file.stat().st_size
    if size == 0 or (size < 65536 and not file.read_bytes().strip()):
        raise DataError(f"{path} is empty ({where})")
    return file


def read_table(file: Path) -> tuple[Any, list[int], list[int] | None]:
    """Load a data file with ``datasets``: (table, unreadable 1-based lines, row positions).

    A JSON-lines file that ``datasets`` cannot parse is read again line by line; the lines that
    are not a JSON object in UTF-8 are left out (and returned), and ``positions`` gives each
    remaining row's index among the file's non-blank lines. Anything else that cannot be read is
    a one-line ``DataError``.
    """
    import datasets

    builder, kwargs = _BUILDERS[file.suffix.lower()]
    log = logging.getLogger("datasets")
    level = log.level
    log.setLevel(logging.CRITICAL)  # a parse failure is reported below, in one line
    try:
        return _load_file(datasets, builder, file, kwargs), [], None
    except Exception as exc:  # any parse failure: try the lines one by one, else one line
        error = exc
    finally:
        log.setLevel(level)
    if file.suffix.lower() in _JSON_LINES:
        good, positions, bad = _json_lines(file)
        if bad and good:
            import tempfile

            with tempfile.TemporaryDirectory(prefix="clinr1-lines-") as tmp:
                clean = Path(tmp) / "rows.jsonl"
                clean.write_bytes(b"\n".join(good) + b"\n")
                try:
                    return _load_file(datasets, builder, clean, kwargs), bad, positions
                except Exception as exc:
                    error = exc
        elif bad:
            raise DataError(
                f"{file}: no readable JSON line ({len(bad)} unreadable: {line_list(bad)})"
            ) from None
    raise DataError(f"could not read {file} as {builder}: {_first_line(error)}") from None


def _load_file(datasets: Any, builder: str, file: Path, kwargs: dict[str, Any]) -> Any:
    return datasets.load_dataset(
        builder, data_files=str(file), split="train", keep_in_memory=True, **kwargs
    )


def _json_lines(file: Path) -> tuple[list[bytes], list[int], list[int]]:
    """(readable lines, their index among non-blank lines, unreadable 1-based line numbers)."""
    good: list[bytes] = []
    positions: list[int] = []
    bad: list[int] = []
    index = 0
    with file.open("rb") as f:
        for number, raw in enumerate(f, 1):
            line = raw.strip()
            if not line:
                continue
            try:
                readable = isinstance(json.loads(line.decode("utf-8")), dict)
            except (UnicodeDecodeError, ValueError):
                readable = False
            if readable:
                good.append(line)
                positions.append(index)
            else:
                bad.append(number)
            index += 1
    return good, positions, bad


def _unreachable(exc: BaseException) -> bool:
    """A network failure or offline mode (``HF_HUB_OFFLINE=1``): ``datasets`` raises
    ``ConnectionError`` for both; raw ``httpx``/``requests`` errors are caught by name."""
    name = type(exc).__name__
    return (
        isinstance(exc, (ConnectionError, TimeoutError)) or "Connect" in name or "Timeout" in name
    )


def missing_local_folder(name: str) -> bool:
    """``name`` reads as a local folder (``./x``, ``/x``, ``~/x``, ``a/b/c``, or ``a/b`` where
    ``a`` is a folder here) that does not exist; a hub id is ``OWNER/NAME``.

    >>> missing_local_folder("./nowhere"), missing_local_folder("GBaker/MedQA-USMLE-4-options")
    (True, False)
    """
    path = Path(name).expanduser()
    if path.exists():
        return False
    local = (
        name.startswith(("/", "./", "../", "~", "\\"))
        or name.endswith("/")
        or name.count("/") > 1
        or (name.count("/") == 1 and Path(name.split("/")[0]).is_dir())
    )
    return local


def _load_hub(
    hub: str, subset: str | None, base: str, part: str, key: str
) -> tuple[Any, Any, int, None]:
    if missing_local_folder(hub):
        raise DataError(
            f"no such folder: {hub} ({key}.hub); a hub id is OWNER/NAME, a local file goes in "
            f"{key}.path (--path)"
        )
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
    return (*_slice(table, base, part), None)


__all__ = [
    "MMLU_MEDICAL_SUBJECTS",
    "UNREADABLE",
    "LoadResult",
    "check_local_file",
    "demo_items",
    "line_list",
    "load_items",
    "missing_local_folder",
    "parse_split",
    "read_table",
]
