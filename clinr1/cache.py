"""What clinr1 builds or computes once and keeps: ``$CLINR1_CACHE`` (default ``~/.cache/clinr1``).

* model folders built on first use -- the tiny model (:mod:`clinr1.tiny`), converted GGUF files
  (:mod:`clinr1.gguf`), random-weight models (``clinr1 bench --random-init``) -- through
  :func:`build_once`, so a reader never sees half a folder and two processes racing to build the
  same one both end with it;
* file hashes (:func:`file_sha256`), kept in ``weights-sha256.json`` by path, size and mtime, so
  a 6 GB model is read once, not at every ``clinr1 eval``.

Standard library only: every layer may use it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

_HASHES = "weights-sha256.json"
_CHUNK = 1 << 22

Hashes = dict[str, dict[str, object]]


def cache_dir() -> Path:
    """Where built artefacts live: ``$CLINR1_CACHE`` or ``~/.cache/clinr1``."""
    root = os.environ.get("CLINR1_CACHE") or Path.home() / ".cache" / "clinr1"
    return Path(root)


def build_once(target: Path, marker: str, build: Callable[[Path], object]) -> Path:
    """``target``, built by ``build(folder)`` unless it already holds the file ``marker``.

    ``build`` fills a temporary sibling folder and must write ``marker`` there last; the folder
    is then renamed into place (atomically), so a reader never sees half of it.
    """
    if (target / marker).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build(tmp)
        # OSError: another process won the race; its folder is the same build.
        with contextlib.suppress(OSError):
            tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def read_hashes() -> Hashes:
    """The cached file hashes (``{}`` when there are none or they cannot be read)."""
    try:
        data = json.loads((cache_dir() / _HASHES).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def write_hashes(hashes: Hashes) -> None:
    """Keep ``hashes`` for the next run (silently not, where the cache is read-only)."""
    file = cache_dir() / _HASHES
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_name(f".{file.name}.{os.getpid()}")
        tmp.write_text(json.dumps(hashes, indent=0), encoding="utf-8")
        os.replace(tmp, file)
    except OSError:
        pass  # a read-only cache only costs a re-hash next time


def file_sha256(path: str | Path, hashes: Hashes | None = None) -> str:
    """The sha256 of one file, streamed; reused from ``hashes`` while size and mtime match.

    Without ``hashes`` the cached ones are read, and kept again when this file was hashed anew.
    """
    path = Path(path)
    own = hashes is None
    hashes = read_hashes() if hashes is None else hashes
    stat = path.stat()
    key = str(path.resolve())
    entry = hashes.get(key)
    if entry and entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns:
        return str(entry["sha256"])
    if stat.st_size > 1 << 29:
        print(f"hashing {path} ({stat.st_size / 2**30:.1f} GiB, once)", file=sys.stderr)
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    hashes[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest.hexdigest()}
    if own:
        write_hashes(hashes)
    return digest.hexdigest()
