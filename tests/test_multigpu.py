"""Multi-GPU through TRL's own path: the accelerate configs, the recipe, and a 2-process CPU run.

DeepSpeed and a vLLM server need GPUs; here the configs are checked by accelerate's own config
loader and the recipe by clinr1's validator. The 2-process run exercises the same code path as
8 GPUs (``accelerate launch`` -> torchrun -> one ``clinr1 train`` per rank, gloo instead of NCCL).
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "recipes" / "accelerate").glob("*.yaml"))
MULTIGPU = REPO / "recipes" / "crpo-multigpu.yaml"
EXPECTED = {  # file -> (distributed_type, ZeRO stage or None)
    "ddp.yaml": ("MULTI_GPU", None),
    "zero2.yaml": ("DEEPSPEED", 2),
    "zero3.yaml": ("DEEPSPEED", 3),
}


def test_the_three_configs_are_shipped() -> None:
    assert {p.name for p in CONFIGS} >= set(EXPECTED)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_accelerate_config_loads_with_accelerate(path: Path) -> None:
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.utils import DeepSpeedPlugin

    # accelerate's own loader: an unknown top-level key is a ValueError.
    config = load_config_from_file(str(path))
    kind, stage = EXPECTED[path.name]
    assert config.distributed_type.value == kind
    assert config.mixed_precision == "bf16" and not config.use_cpu
    assert config.num_machines == 1 and config.num_processes == 7  # GPU 7 serves vLLM
    ds = config.deepspeed_config or {}
    if stage is None:
        assert not ds
        return
    # Keys inside deepspeed_config are not checked by the loader: check them against the plugin.
    known = {f.name for f in dataclasses.fields(DeepSpeedPlugin)} | {"deepspeed_multinode_launcher"}
    assert set(ds) <= known, set(ds) - known
    assert ds["zero_stage"] == stage
    assert ds["offload_optimizer_device"] == ds["offload_param_device"] == "none"
    assert ds["zero3_init_flag"] is (stage == 3)


def test_multigpu_recipe_is_the_paper_setting_on_trl() -> None:
    from clinr1.config import load_recipe

    recipe = load_recipe(MULTIGPU)
    m, g = recipe.model, recipe.grpo
    assert m.name_or_path == "Qwen/Qwen2.5-3B-Instruct"
    assert m.engine == "hf" and not m.load_in_4bit and m.dtype == "bfloat16"
    assert {r.name: r.weight for r in recipe.rewards if r.weight} == {
        "accuracy": 10,
        "faithfulness": 1,
        "comprehensiveness": 1,
    }
    assert g["num_generations"] == 5 and g["beta"] == 0.001
    assert g["max_completion_length"] == 4096 and m.max_seq_length >= 4096 + 450
    assert g["use_vllm"] is True and g["vllm_mode"] == "server" and g["bf16"] is True
    # TRL: the global batch (per device x processes) must be a multiple of G, for any GPU count.
    assert g["per_device_train_batch_size"] % g["num_generations"] == 0


def test_multigpu_recipe_full_fine_tune_override_validates() -> None:
    from clinr1.config import load_recipe

    recipe = load_recipe(MULTIGPU, ["model.lora=null", "grpo.learning_rate=1e-6"])
    assert recipe.model.lora is None and recipe.grpo["learning_rate"] == 1e-6


# --- two processes on a CPU ---------------------------------------------------------------------

# Runs `python -m clinr1` inside each rank, recording (rank, what, where) for every save so the
# test can tell which process wrote what, and each rank's exit code and process-group backend.
ENTRY = """
import os, runpy, sys

LOG = os.environ["CLINR1_TEST_WRITES"]
RANK = os.environ.get("RANK", "?")


def record(what, where):
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(f"{RANK}\\t{what}\\t{where}\\n")


import peft, transformers
import clinr1.runlog

_adapter = peft.PeftModel.save_pretrained
_tokenizer = transformers.PreTrainedTokenizerBase.save_pretrained
_json = clinr1.runlog.write_json_atomic


def adapter(self, save_directory, *a, **k):
    record("adapter", os.path.abspath(save_directory))
    return _adapter(self, save_directory, *a, **k)


def tokenizer(self, save_directory, *a, **k):
    record("tokenizer", os.path.abspath(save_directory))
    return _tokenizer(self, save_directory, *a, **k)


def json_atomic(path, data):
    record("json", os.path.abspath(path))
    return _json(path, data)


peft.PeftModel.save_pretrained = adapter
transformers.PreTrainedTokenizerBase.save_pretrained = tokenizer
clinr1.runlog.write_json_atomic = json_atomic
code = 0
try:
    runpy.run_module("clinr1", run_name="__main__", alter_sys=True)
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
import torch.distributed as dist

record("backend", dist.get_backend() if dist.is_initialized() else "none")
record("exit", code)
sys.exit(code)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_cpu_processes_train_two_steps_and_save_once(tmp_path: Path) -> None:
    from clinr1.tiny import tiny_model_path

    tiny_model_path()  # build once here, not in both ranks at the same time
    out = tmp_path / "out"
    writes = tmp_path / "writes.tsv"
    entry = tmp_path / "entry.py"
    entry.write_text(ENTRY, encoding="utf-8")
    env = dict(os.environ, CLINR1_TEST_WRITES=str(writes), OMP_NUM_THREADS="1")
    env["CUDA_VISIBLE_DEVICES"] = ""  # CPU + gloo even on a GPU machine
    # accelerate 1.15: --cpu starts a single process (several need MPI); --multi_gpu on a machine
    # without visible GPUs starts N torchrun processes that pick the gloo backend.
    cmd = [
        sys.executable, "-m", "accelerate.commands.launch",
        "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no",
        "--main_process_port", str(_free_port()),
        str(entry), "train", str(REPO / "recipes" / "smoke.yaml"),
        "--set", f"train.output_dir={out}",
        "--set", "data.train.limit=8",
        "--set", "grpo.max_steps=2",
        "--set", "grpo.num_generations=2",
        "--set", "grpo.per_device_train_batch_size=2",  # 2 x 2 ranks = 4, a multiple of G=2
        "--set", "grpo.max_completion_length=16",
        "--set", "grpo.save_steps=100",
    ]  # fmt: skip
    proc = subprocess.run(
        cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300, check=False
    )
    log = proc.stdout[-4000:] + proc.stderr[-4000:]
    lines = writes.read_text().splitlines() if writes.exists() else []
    records = [line.split("\t") for line in lines]

    # Both ranks ran to the end, in one gloo process group.
    exits = sorted((r, w) for r, what, w in records if what == "exit")
    assert exits == [("0", "0"), ("1", "0")], log
    assert {w for _, what, w in records if what == "backend"} == {"gloo"}, log
    assert proc.returncode == 0, log

    # The final adapter and run.json were each written once, by rank 0; the tokenizer by rank 0
    # only (Trainer.save_model already saves it, so a second save by rank 0 is merely redundant).
    def writers(what: str, where: Path) -> list[str]:
        return [r for r, w_what, w in records if w_what == what and w == str(where)]

    assert writers("adapter", out) == ["0"]
    assert writers("json", out / "run.json") == ["0"]
    assert set(writers("tokenizer", out)) == {"0"}
    assert (out / "adapter_model.safetensors").is_file()
    assert not list(out.glob("*.tmp"))

    # Two optimizer steps, logged once (by the main process).
    states = [json.loads(p.read_text()) for p in out.glob("checkpoint-*/trainer_state.json")]
    assert states and max(s["global_step"] for s in states) == 2
    run = json.loads((out / "run.json").read_text())
    assert run["global_step"] == 2
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [rec["step"] for rec in logged if "rewards/accuracy/mean" in rec]
    assert steps == [1, 2], steps  # one record per step: rank 1 logs nothing
