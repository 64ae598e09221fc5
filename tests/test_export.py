"""`clinr1 export` on the tiny model: merged weights equal base + adapter, cards, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from clinr1.cli.export import export

runner = CliRunner()
PROMPTS = [
    "A 45-year-old man presents with chest pain radiating to the left arm.",
    "Which of the following is the most likely diagnosis?",
    "Serum sodium is 128 mEq/L, potassium 5.9 mEq/L, and creatinine 2.4 mg/dL.",
]


def _app() -> typer.Typer:
    """The real app once `export` is registered there; until then a wrapper around it."""
    from clinr1.cli import app

    if any(c.name == "export" or getattr(c.callback, "__name__", "") == "export"
           for c in app.registered_commands):  # fmt: skip
        return app
    wrapper = typer.Typer()
    wrapper.command()(export)
    wrapper.command("noop")(lambda: None)  # two commands keep `export` a subcommand
    return wrapper


APP = _app()


def run_export(*args: str):
    return runner.invoke(APP, ["export", *args])


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def adapter(tmp_path_factory: pytest.TempPathFactory, tiny_adapter: Path) -> Path:
    """The shared tiny LoRA folder, copied, with a run.json like training writes."""
    import shutil

    import torch

    folder = tmp_path_factory.mktemp("export") / "adapter"
    shutil.copytree(tiny_adapter, folder)
    run = {
        "kind": "grpo",
        "engine": "hf",
        "global_step": 4,
        "max_steps": 4,
        "wall_time_s": 12.5,
        "final_metrics": {"reward": 3.25, "rewards/accuracy/mean": 0.25},
        "versions": {"torch": torch.__version__},
        "recipe": {
            "model": {"name_or_path": "tiny-random-qwen2", "dtype": "float32"},
            "rewards": [{"name": "accuracy", "weight": 10.0}],
            "grpo": {"learning_rate": 0.001},
        },
    }
    (folder / "run.json").write_text(json.dumps(run), encoding="utf-8")
    return folder


def _greedy(model, tokenizer, prompt: str) -> list[int]:
    import torch

    enc = tokenizer(prompt, return_tensors="pt")
    with torch.inference_mode():
        ids = model.generate(
            **enc, max_new_tokens=12, do_sample=False, pad_token_id=tokenizer.pad_token_id
        )
    return ids[0, enc["input_ids"].shape[1] :].tolist()


def test_merged16_reloads_without_peft_and_matches_base_plus_adapter(
    adapter: Path, tmp_path: Path
) -> None:
    import torch
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from clinr1.engine import resolve_model

    weights = load_file(str(adapter / "adapter_model.safetensors"))
    assert any("lora_B" in k and v.abs().sum() > 0 for k, v in weights.items())  # non-trivial

    out = tmp_path / "merged"
    result = run_export("--adapter", str(adapter), "--to", "merged16", "--out", str(out),
                        "--engine", "hf")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "config.json").is_file() and (out / "model.safetensors").is_file()
    assert not (out / "adapter_config.json").exists()

    merged = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    assert not any("lora" in name for name, _ in merged.named_parameters())
    tokenizer = AutoTokenizer.from_pretrained(out)
    base_path = resolve_model("tiny-random-qwen2")
    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32).eval()
    base_tokens = [_greedy(base, tokenizer, p) for p in PROMPTS]
    with_adapter = PeftModel.from_pretrained(base, adapter).eval()
    expected = [_greedy(with_adapter, tokenizer, p) for p in PROMPTS]
    got = [_greedy(merged, tokenizer, p) for p in PROMPTS]
    assert got == expected
    assert base_tokens != expected  # the adapter changes what the model says

    card = (out / "README.md").read_text(encoding="utf-8")
    assert "Research use only" in card and "not be used for diagnosis" in card
    assert "learning_rate: 0.001" in card  # the recipe
    assert "| reward | 3.25 |" in card  # the metrics from run.json
    assert "library_name: transformers" in card


def test_lora_export_copies_the_adapter_with_a_card(adapter: Path, tmp_path: Path) -> None:
    out = tmp_path / "lora"
    result = run_export("--adapter", str(adapter), "--to", "lora", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "adapter_model.safetensors").read_bytes() == (
        adapter / "adapter_model.safetensors"
    ).read_bytes()
    assert json.loads((out / "adapter_config.json").read_text())["base_model_name_or_path"] == (
        "tiny-random-qwen2"
    )  # the recipe's model, not a cache path of this machine
    assert not (out / "run.json").exists()
    assert "library_name: peft" in (out / "README.md").read_text(encoding="utf-8")


def test_gguf_without_llama_cpp_says_how_to_get_it(
    adapter: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("LLAMA_CPP_DIR", raising=False)
    monkeypatch.delenv("UNSLOTH_LLAMA_CPP_PATH", raising=False)
    result = run_export("--adapter", str(adapter), "--to", "gguf", "--out", str(tmp_path / "g"))
    assert_one_line_error(result, "llama.cpp", "git clone", "LLAMA_CPP_DIR")
    assert not (tmp_path / "g").exists()  # refused before any work


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--to", "safetensors"], ["unknown export kind", "merged16"]),  # a typo'd kind
        (["--to", "gguf", "--quant", "q9"], ["unknown GGUF quant"]),
        (["--to", "merged4"], ["CUDA"]),  # CPU only here
        (["--engine", "vllm"], ["unknown engine"]),
        # a pre-quantized base cannot take a PEFT merge: say which base to use instead
        (["--engine", "hf", "--base", "unsloth/Qwen2.5-3B-Instruct-bnb-4bit"], ["16-bit original"]),
    ],
)
def test_bad_requests_end_in_one_line(adapter: Path, args: list[str], fragments) -> None:
    assert_one_line_error(run_export("--adapter", str(adapter), *args), *fragments)


def test_not_an_adapter_and_a_busy_out_folder(adapter: Path, tmp_path: Path) -> None:
    assert_one_line_error(run_export("--adapter", str(tmp_path)), "no adapter_config.json")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    result = run_export("--adapter", str(adapter), "--to", "lora", "--out", str(busy))
    assert_one_line_error(result, "not empty", "--overwrite")
    assert (busy / "keep.txt").read_text() == "mine"


def test_push_to_hub_needs_a_token_and_never_prints_it(
    adapter: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    result = run_export("--adapter", str(adapter), "--to", "lora", "--out",
                        str(tmp_path / "a"), "--push-to-hub", "me/model")  # fmt: skip
    assert_one_line_error(result, "HF_TOKEN")

    secret = "hf_SECRETtoken123"
    monkeypatch.setenv("HF_TOKEN", secret)
    calls: list[tuple[str, dict]] = []

    class FakeApi:
        def __init__(self, token: str):
            assert token == secret
            self.token = token

        def create_repo(self, repo_id: str, **kwargs):
            calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))

        def upload_folder(self, **kwargs):
            calls.append(("upload_folder", kwargs))
            if kwargs["repo_id"] == "me/broken":
                raise RuntimeError(f"401 Unauthorized for token {self.token}")

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    result = run_export("--adapter", str(adapter), "--to", "lora", "--out",
                        str(tmp_path / "b"), "--push-to-hub", "me/model", "--private")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert calls[0] == ("create_repo", {"repo_id": "me/model", "repo_type": "model",
                                        "private": True, "exist_ok": True})  # fmt: skip
    assert calls[1][1]["folder_path"] == str(tmp_path / "b")
    assert "huggingface.co/me/model" in result.output
    result = run_export("--adapter", str(adapter), "--to", "lora", "--out",
                        str(tmp_path / "c"), "--push-to-hub", "me/broken")  # fmt: skip
    assert result.exit_code == 2, result.output
    last = result.stderr.strip().splitlines()[-1]  # after the "wrote ..." progress line
    assert last.startswith("error: push to me/broken failed") and "***" in last
    assert secret not in result.output
