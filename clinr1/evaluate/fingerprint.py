"""What a model is, for resuming an evaluation: a hash of its weights, not its path.

An adapter trained again at the same path, or a local model folder overwritten, must not inherit
the completions of the old weights. :func:`weights_fingerprint` is a sha256 over the weight files
of a folder (``*.safetensors``, ``*.bin``, ``*.gguf``, ...; top level only, so a training
output's ``checkpoint-N`` folders do not count) or of one file. Each file's hash is cached by
(path, size, mtime) (:func:`clinr1.cache.file_sha256`), so a 6 GB model is read once, not at
every ``clinr1 eval``. A hub id is identified by the commit of its cached snapshot when the hub
cache has one (read offline), else by its name.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from clinr1.cache import file_sha256, read_hashes, write_hashes

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".pth", ".ckpt", ".h5", ".msgpack")


def weights_fingerprint(path: str | Path) -> str | None:
    """``sha256:<16 hex>`` over the weight files of a folder (or of a file), else ``None``."""
    p = Path(path).expanduser()
    if p.is_file():
        files = [p]
    elif p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix in WEIGHT_SUFFIXES)
    else:
        return None
    if not files:
        return None
    hashes = read_hashes()
    before = json.dumps(hashes, sort_keys=True)
    combined = hashlib.sha256()
    for file in files:
        combined.update(f"{file.name}\0{file_sha256(file, hashes)}\n".encode())
    if json.dumps(hashes, sort_keys=True) != before:
        write_hashes(hashes)
    return "sha256:" + combined.hexdigest()[:16]


def hub_revision(repo_id: str) -> str | None:
    """The commit of ``repo_id``'s snapshot in the local hub cache, read offline; else None."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        found = try_to_load_from_cache(repo_id, "config.json")
    except Exception:  # an id the hub client refuses (a path, odd characters)
        return None
    if isinstance(found, str) and "snapshots" in Path(found).parts:
        return Path(found).parent.name
    return None


def model_fingerprint(name_or_path: str) -> str:
    """What the model is: its weights' hash when local, ``hub:NAME@COMMIT`` when the hub cache
    has a snapshot, else ``name:NAME``."""
    from clinr1.config import TINY_MODEL

    if name_or_path == TINY_MODEL:
        from clinr1.tiny import tiny_model_path

        return weights_fingerprint(tiny_model_path()) or name_or_path
    local = weights_fingerprint(name_or_path)
    if local is not None:
        return local
    revision = hub_revision(name_or_path)
    return f"hub:{name_or_path}@{revision}" if revision else f"name:{name_or_path}"
