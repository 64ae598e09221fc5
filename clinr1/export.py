"""``clinr1 export``: a trained LoRA adapter as a shareable model folder, with a model card.

* ``lora`` -- the adapter files themselves (plus the tokenizer); loads with PEFT on the base.
* ``merged16`` -- LoRA merged into the base weights, saved in the base checkpoint's 16-bit dtype
  (a checkpoint stored in float32, like the tiny test model, stays float32); loads with plain
  ``AutoModelForCausalLM``, no PEFT.
* ``merged4`` -- merged, then saved as bitsandbytes 4-bit (needs a CUDA GPU).
* ``gguf`` -- merged, converted by llama.cpp (``convert_hf_to_gguf.py``, then ``llama-quantize``
  for ``q4_k_m`` and the other k-quants) into one ``.gguf`` file for llama.cpp / Ollama.

With Unsloth installed and a GPU (engine ``auto``), the merges go through Unsloth's
``save_pretrained_merged`` / ``save_pretrained_gguf``; otherwise through PEFT's
``merge_and_unload`` and llama.cpp's own scripts. Every export writes a ``README.md`` model card
(:func:`clinr1.cards.export_card`) with the recipe and the final metrics from the run's
``run.json`` and the research-use disclaimer. ``--push-to-hub`` uploads the folder with the
token in ``HF_TOKEN``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clinr1.cards import export_card, model_source

KINDS = ("lora", "merged16", "merged4", "gguf")
# Types llama.cpp's converter writes itself; any other quant goes through llama-quantize.
CONVERTER_TYPES = ("f32", "f16", "bf16", "q8_0")
GGUF_QUANTS = (
    *CONVERTER_TYPES,
    "q2_k",
    "q3_k_s",
    "q3_k_m",
    "q3_k_l",
    "q4_0",
    "q4_1",
    "q4_k_s",
    "q4_k_m",
    "q5_0",
    "q5_1",
    "q5_k_s",
    "q5_k_m",
    "q6_k",
)
LLAMA_CPP_HINT = (
    "GGUF export needs llama.cpp: git clone https://github.com/ggml-org/llama.cpp && "
    "cmake -S llama.cpp -B llama.cpp/build && cmake --build llama.cpp/build --target "
    "llama-quantize && pip install -r llama.cpp/requirements.txt, then set LLAMA_CPP_DIR=llama.cpp"
)
TOKEN_VARS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
# Training leftovers that do not belong in an exported adapter.
_SKIP = {
    "run.json",
    "metrics.jsonl",
    "training_args.bin",
    "trainer_state.json",
    "optimizer.pt",
    "scheduler.pt",
    "rng_state.pth",
    "README.md",
}


class ExportError(Exception):
    """An export cannot run as asked; the message is one line saying what to change."""


@dataclass
class Adapter:
    """A LoRA folder, its base model and the run that produced it (``run.json``, if any)."""

    path: Path
    base: str
    config: dict[str, Any]
    run: dict[str, Any] | None


def read_adapter(path: str | Path, base: str | None = None) -> Adapter:
    """Read ``path/adapter_config.json`` and the run's ``run.json`` (in ``path`` or its parent).

    The base model is ``base`` when given, else the recipe's ``model.name_or_path`` from
    ``run.json``, else the ``base_model_name_or_path`` PEFT recorded.
    """
    folder = Path(path)
    config_path = folder / "adapter_config.json"
    if not config_path.is_file():
        raise ExportError(f"{folder} is not a LoRA folder (no adapter_config.json)")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise ExportError(f"{config_path}: invalid JSON ({e})") from None
    run = None
    for candidate in (folder / "run.json", folder.parent / "run.json"):
        if candidate.is_file():
            try:
                run = json.loads(candidate.read_text(encoding="utf-8"))
            except ValueError:
                run = None
            break
    recipe_base = model_source(((run or {}).get("recipe") or {}).get("model") or {})
    chosen = base or recipe_base or config.get("base_model_name_or_path")
    if not chosen:
        raise ExportError(f"{config_path} names no base model; pass --base MODEL")
    return Adapter(path=folder, base=str(chosen), config=config, run=run)


def hub_token() -> str | None:
    """The Hugging Face token from the environment (never printed)."""
    for name in TOKEN_VARS:
        if os.environ.get(name):
            return os.environ[name]
    return None


def find_llama_cpp() -> Path | None:
    """A llama.cpp checkout holding ``convert_hf_to_gguf.py``: ``$LLAMA_CPP_DIR``,
    ``$UNSLOTH_LLAMA_CPP_PATH``, ``~/.unsloth/llama.cpp`` or ``./llama.cpp``."""
    candidates = [os.environ.get("LLAMA_CPP_DIR"), os.environ.get("UNSLOTH_LLAMA_CPP_PATH")]
    candidates += [str(Path.home() / ".unsloth" / "llama.cpp"), "llama.cpp"]
    for c in candidates:
        if c and (Path(c) / "convert_hf_to_gguf.py").is_file():
            return Path(c)
    return None


def find_quantizer(llama_cpp: Path) -> Path | None:
    for p in (llama_cpp / "llama-quantize", llama_cpp / "build" / "bin" / "llama-quantize"):
        if p.is_file() and os.access(p, os.X_OK):
            return p
    found = shutil.which("llama-quantize")
    return Path(found) if found else None


def _stored_dtype(base: str, trust_remote_code: bool) -> str:
    """The dtype the base checkpoint is stored in (``config.json``), as a torch name."""
    from transformers import AutoConfig

    from clinr1.engine import resolve_model

    config = AutoConfig.from_pretrained(resolve_model(base), trust_remote_code=trust_remote_code)
    dtype = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None)
    name = str(dtype).replace("torch.", "") if dtype is not None else "float32"
    return name if name in ("float16", "bfloat16", "float32") else "float32"


def _prepare_out(out: Path, adapter: Path, overwrite: bool) -> None:
    if out.resolve() in (adapter.resolve(), *adapter.resolve().parents):
        raise ExportError(f"--out {out} would overwrite the adapter; choose another folder")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not overwrite:
            raise ExportError(f"{out} exists and is not empty; pass --overwrite or another --out")
        if out.is_dir():
            shutil.rmtree(out)
        else:
            out.unlink()
    out.mkdir(parents=True, exist_ok=True)


def export(
    adapter: str | Path,
    to: str = "merged16",
    *,
    out: str | Path | None = None,
    quant: str = "q4_k_m",
    base: str | None = None,
    engine: str = "auto",
    dtype: str = "auto",
    push_to_hub: str | None = None,
    private: bool = False,
    overwrite: bool = False,
    trust_remote_code: bool = False,
    log: Any = print,
) -> Path:
    """Export ``adapter`` as ``to`` into ``out`` (default ``<adapter>-<to>``); return ``out``.

    Everything a user can get wrong (unknown kind, no llama.cpp for GGUF, no GPU for merged4, no
    token for the hub, a non-empty ``out``) is an :class:`ExportError` before any model loads.
    """
    from clinr1.device import cuda_available
    from clinr1.engine import choose_engine

    if to not in KINDS:
        raise ExportError(f"unknown export kind {to!r}; valid: {', '.join(KINDS)}")
    quant = quant.lower()
    if to == "gguf" and quant not in GGUF_QUANTS:
        raise ExportError(f"unknown GGUF quant {quant!r}; valid: {', '.join(GGUF_QUANTS)}")
    info = read_adapter(adapter, base)
    token = None
    if push_to_hub:
        token = hub_token()
        if not token:
            raise ExportError("--push-to-hub needs a Hugging Face write token in HF_TOKEN")
    chosen = "hf" if to == "lora" else choose_engine(engine)
    llama_cpp = None
    if to == "gguf":
        llama_cpp = find_llama_cpp()
        if llama_cpp is None:
            raise ExportError(LLAMA_CPP_HINT)
        if quant not in CONVERTER_TYPES and chosen == "hf" and find_quantizer(llama_cpp) is None:
            raise ExportError(f"no llama-quantize binary under {llama_cpp}: {LLAMA_CPP_HINT}")
    if to == "merged4" and not cuda_available():
        raise ExportError("--to merged4 needs a CUDA GPU (bitsandbytes 4-bit); use merged16")
    if chosen == "hf" and to != "lora" and "bnb-4bit" in info.base.lower():
        raise ExportError(
            f"base {info.base} is a 4-bit checkpoint, which PEFT cannot merge into: pass "
            "--base with its 16-bit original (e.g. Qwen/Qwen2.5-3B-Instruct)"
        )
    target = Path(out) if out else Path(str(info.path).rstrip("/") + f"-{to}")
    _prepare_out(target, info.path, overwrite)

    if to == "lora":
        _copy_adapter(info, target)
    elif chosen == "unsloth":
        _export_unsloth(info, to, target, quant, llama_cpp, trust_remote_code, log)
    else:
        _export_hf(info, to, target, quant, dtype, llama_cpp, trust_remote_code, log)
    card = export_card(
        base=info.base, adapter=info.path.name, run=info.run, to=to, quant=quant, engine=chosen
    )
    (target / "README.md").write_text(card, encoding="utf-8")
    log(f"wrote {to} export to {target}")
    if push_to_hub:
        assert token is not None
        push(target, push_to_hub, token, private=private, log=log)
    return target


def _copy_adapter(info: Adapter, out: Path) -> None:
    for f in sorted(info.path.iterdir()):
        if f.is_file() and f.name not in _SKIP:
            shutil.copy2(f, out / f.name)
    config = dict(info.config, base_model_name_or_path=info.base)
    (out / "adapter_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")


def _load(info: Adapter, engine: str, dtype: str, trust_remote_code: bool, load_in_4bit: bool):
    from clinr1.config import ModelConfig
    from clinr1.engine import load_model

    cfg = ModelConfig(
        name_or_path=info.base,
        engine=engine,  # type: ignore[arg-type]
        load_in_4bit=load_in_4bit,
        dtype=dtype,  # type: ignore[arg-type]
        lora=None,
        trust_remote_code=trust_remote_code,
    )
    return load_model(cfg, trainable=False, adapter=str(info.path), verbose=False)


def _export_hf(
    info: Adapter,
    to: str,
    out: Path,
    quant: str,
    dtype: str,
    llama_cpp: Path | None,
    trust_remote_code: bool,
    log: Any,
) -> None:
    """PEFT ``merge_and_unload``, then save (merged16), requantize (merged4) or convert (gguf)."""
    dtype = _stored_dtype(info.base, trust_remote_code) if dtype == "auto" else dtype
    log(f"merging {info.path} into {info.base} ({dtype}, PEFT merge_and_unload)")
    loaded = _load(info, "hf", dtype, trust_remote_code, load_in_4bit=False)
    merged = loaded.model.merge_and_unload()
    if to == "merged16":
        merged.save_pretrained(out)
        loaded.tokenizer.save_pretrained(out)
        return
    with tempfile.TemporaryDirectory(prefix="clinr1-merge-", dir=out.parent) as tmp:
        merged.save_pretrained(tmp)
        loaded.tokenizer.save_pretrained(tmp)
        del merged, loaded
        if to == "merged4":
            _requantize_4bit(Path(tmp), out, trust_remote_code)
        else:
            assert llama_cpp is not None
            _convert_gguf(Path(tmp), out, quant, llama_cpp, log)


def _requantize_4bit(merged: Path, out: Path, trust_remote_code: bool) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    quant = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
    )
    model = AutoModelForCausalLM.from_pretrained(
        merged, quantization_config=quant, device_map={"": 0}, trust_remote_code=trust_remote_code
    )
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(merged).save_pretrained(out)


def _convert_gguf(merged: Path, out: Path, quant: str, llama_cpp: Path, log: Any) -> None:
    """llama.cpp: ``convert_hf_to_gguf.py`` to f16 (or straight to f32/bf16/q8_0), then
    ``llama-quantize`` for the k-quants."""
    name = out.name
    env = dict(os.environ)
    gguf_py = llama_cpp / "gguf-py"
    if gguf_py.is_dir():  # the converter's own gguf package, matching its version
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(gguf_py), env.get("PYTHONPATH")]))
    first = quant if quant in CONVERTER_TYPES else "f16"
    converted = out / f"{name}.{first.upper()}.gguf"
    convert = [
        sys.executable,
        str(llama_cpp / "convert_hf_to_gguf.py"),
        str(merged),
        "--outfile",
        str(converted),
        "--outtype",
        first,
    ]
    log(f"converting with {llama_cpp / 'convert_hf_to_gguf.py'} ({first})")
    _run_tool(convert, env)
    if quant == first:
        return
    quantizer = find_quantizer(llama_cpp)
    if quantizer is None:
        raise ExportError(f"no llama-quantize binary under {llama_cpp}: {LLAMA_CPP_HINT}")
    final = out / f"{name}.{quant.upper()}.gguf"
    log(f"quantizing with {quantizer} ({quant.upper()})")
    _run_tool([str(quantizer), str(converted), str(final), quant.upper()], env)
    converted.unlink()


def _run_tool(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise ExportError(
            f"{Path(cmd[1] if cmd[0] == sys.executable else cmd[0]).name} failed: {last[0]}"
        )


def _export_unsloth(
    info: Adapter,
    to: str,
    out: Path,
    quant: str,
    llama_cpp: Path | None,
    trust_remote_code: bool,
    log: Any,
) -> None:
    """Unsloth's ``save_pretrained_merged`` / ``save_pretrained_gguf`` (GPU; not run in CI)."""
    recipe_model = ((info.run or {}).get("recipe") or {}).get("model") or {}
    load_in_4bit = bool(recipe_model.get("load_in_4bit", False))
    log(f"merging {info.path} into {info.base} (Unsloth)")
    loaded = _load(info, "unsloth", "auto", trust_remote_code, load_in_4bit=load_in_4bit)
    model = loaded.model
    if not hasattr(model, "save_pretrained_merged"):
        from unsloth.save import patch_saving_functions

        patch_saving_functions(model)
    if to == "gguf":
        assert llama_cpp is not None
        os.environ.setdefault("UNSLOTH_LLAMA_CPP_PATH", str(llama_cpp))
        model.save_pretrained_gguf(str(out), loaded.tokenizer, quantization_method=quant)
        return
    method = "merged_16bit" if to == "merged16" else "merged_4bit_forced"
    model.save_pretrained_merged(str(out), loaded.tokenizer, save_method=method)


def push(folder: Path, repo: str, token: str, *, private: bool = False, log: Any = print) -> str:
    """Upload ``folder`` to the model repo ``repo`` (created if missing); return its URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    try:
        api.create_repo(repo, repo_type="model", private=private, exist_ok=True)
        api.upload_folder(folder_path=str(folder), repo_id=repo, commit_message="clinr1 export")
    except Exception as e:  # the hub's errors vary; never let the token reach the message
        message = str(e).replace(token, "***").splitlines()[0] if str(e) else ""
        raise ExportError(f"push to {repo} failed: {type(e).__name__}: {message}") from None
    url = f"https://huggingface.co/{repo}"
    log(f"pushed to {url}")
    return url
