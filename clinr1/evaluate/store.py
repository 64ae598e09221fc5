"""Append-only JSONL records that survive a kill: what is on disk is never generated again.

Each record is one line, written and flushed as soon as it is complete. On reading, a line that
does not parse (the tail of a run killed mid-write) is dropped and the file rewritten without it,
so the next append starts on a clean line. Records are keyed by ``(benchmark, id, sample)``
unless the store is given another ``key`` function (``clinr1 distill`` keys by item).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import Any

Key = tuple[str, str, int]


def record_key(record: dict[str, Any]) -> Key:
    return (str(record["benchmark"]), str(record["id"]), int(record["sample"]))


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (never half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RecordStore:
    """The records of one JSONL file, loaded on open and appended to as work finishes."""

    def __init__(self, path: Path, key: Callable[[dict[str, Any]], Hashable] = record_key) -> None:
        self.path = Path(path)
        self.key = key
        self.records: dict[Any, dict[str, Any]] = {}
        self.dropped = 0
        self._load()

    def _load(self) -> None:
        if not self.path.is_file():
            return
        raw = self.path.read_bytes()
        good: list[bytes] = []
        for line in raw.splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                key = self.key(record)
            except (ValueError, KeyError, TypeError):
                self.dropped += 1
                continue
            self.records[key] = record
            good.append(line)
        if self.dropped or (raw and not raw.endswith(b"\n")):
            if self.dropped:
                print(
                    f"{self.path}: dropped {self.dropped} unreadable line(s) "
                    "(a run killed mid-write); they will be redone",
                    file=sys.stderr,
                )
            atomic_write(self.path, "".join(g.decode("utf-8") + "\n" for g in good))

    def __contains__(self, key: Hashable) -> bool:
        return key in self.records

    def __len__(self) -> int:
        return len(self.records)

    def get(self, key: Hashable) -> dict[str, Any] | None:
        return self.records.get(key)

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Append records, one line each, flushed and synced before returning."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            for record in records:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
                self.records[self.key(record)] = record
            f.flush()
            os.fsync(f.fileno())

    def select(self, benchmark: str) -> list[dict[str, Any]]:
        return [r for k, r in self.records.items() if k[0] == benchmark]
