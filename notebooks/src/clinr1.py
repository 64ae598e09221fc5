# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Clinical-R1 (CRPO) on a free {{PLATFORM}} GPU
#
# {{BADGE}}
#
# This notebook runs [clinr1]({{REPO_URL}}), an open reproduction of *Clinical-R1*
# ([arXiv 2512.00601](https://arxiv.org/abs/2512.00601)): **CRPO** is GRPO with three
# rule-based, verifiable rewards per completion, **accuracy ×10 + faithfulness +
# comprehensiveness** (maximum 12), on Qwen2.5-3B-Instruct in 4-bit with LoRA through
# Unsloth. The steps:
#
# 1. install a pinned stack, 2. load the model in 4-bit, 3. (optional) cold-start SFT,
# 4. CRPO on MedQA with `recipes/crpo-t4.yaml` for a budgeted number of steps,
# 5. evaluate a slice of MedQA, MedMCQA and MedXpertQA before and after,
# 6. plot the per-objective reward curves and the before/after table, 7. chat with the model,
# 8. export it (LoRA, merged 16-bit, GGUF) and optionally push it to the Hugging Face Hub.
#
# **Times and memory below are estimates** from the recipe's settings and Unsloth's documented
# memory use, not yet measured on a T4. With the defaults the whole notebook takes roughly
# 1.5-2.5 hours.
#
# **Smoke mode.** With `CLINR1_NOTEBOOK_SMOKE=1` in the environment the same cells run on a
# CPU in about a minute: the offline tiny model, the bundled demo vignettes and a few steps.
# CI runs the notebook this way; cells that need a GPU say so and are skipped.
#
# Research use only: nothing trained here is fit for clinical use.

# %% [markdown] tags=["colab"]
# **Runtime → Change runtime type → T4 GPU** before you start (15 GB of GPU memory, no bf16:
# the recipe trains in fp16). A free session lasts a few hours at most; every stage writes its
# results under `/content/outputs`, and training resumes from its last checkpoint if you run
# the cell again in the same session.

# %% [markdown] tags=["kaggle"]
# **Settings → Accelerator → GPU T4 ×2** and **Settings → Internet → on** before you start.
# The recipe uses one T4 (15 GB, fp16); the second is hidden from it. The P100 accelerator is
# not supported: the pinned PyTorch (CUDA 13 build) and Triton no longer support Pascal GPUs.
# Everything is written under `/kaggle/working/outputs`, which "Save Version" keeps.

# %% [markdown]
# ## Settings
# Change the budget here. `CRPO_STEPS` is the number of CRPO steps (each one: 8 completions for
# each of 8 prompts, 512 tokens at most; roughly 30-45 s on a T4). The recipe's full run is 200.

# %%
import os
import subprocess
import sys
import time
from pathlib import Path

PLATFORM = "{{platform}}"
REPO_URL = "{{REPO_URL}}"
SMOKE = os.environ.get("CLINR1_NOTEBOOK_SMOKE") == "1"

MODEL = "Qwen/Qwen2.5-3B-Instruct"
CRPO_STEPS = 60  # budget: ~40 min on a T4
EVAL_LIMIT = 50  # items per benchmark, before and after (3 benchmarks)
RUN_COLD_START = False  # True: SFT on your traces first (see the cold-start cell)
TRACES = "data/medqa_coldstart_traces.jsonl"  # item fields + "completion", one JSON a line
SFT_STEPS = 200
EXPORT_GGUF = True  # builds llama.cpp (~5 min) and writes a q4_k_m GGUF
HUB_REPO = ""  # e.g. "your-name/qwen2.5-3b-clinr1-crpo" to upload the merged model

if SMOKE:  # CI: the tiny offline model, the bundled items, a few steps on the CPU
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    CRPO_STEPS, EVAL_LIMIT, SFT_STEPS = 4, 4, 100
    WORK = Path.cwd()
elif PLATFORM == "kaggle":
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "0")  # one T4 of the two
    WORK = Path("/kaggle/working")
else:
    WORK = Path("/content")
os.chdir(WORK)
OUT = WORK / "outputs"
OUT.mkdir(parents=True, exist_ok=True)


def skip(reason: str) -> None:
    """Say why a cell does nothing, instead of skipping it silently."""
    print(f"SKIPPED: {reason}")


def clinr1(*args: str) -> None:
    """Run one `clinr1` command in a child process, streaming its output; fail on an error.

    A child process frees the GPU when it ends, so training and evaluation never hold memory
    that the next stage needs.
    """
    cmd = [sys.executable, "-m", "clinr1", *map(str, args)]
    print("$ clinr1", " ".join(map(str, args)), flush=True)
    start = time.time()
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    print(f"({time.time() - start:.0f} s)")


print(f"platform {PLATFORM}, smoke mode {SMOKE}, working folder {WORK}")

# %% [markdown]
# ## 1. Install (3-5 min)
# One `pip install` of versions that resolve together (checked with `pip install --dry-run` of
# exactly these pins on Python 3.11 and 3.12): PyTorch 2.13 (CUDA 13 build from PyPI), Unsloth
# 2026.10.9 and the Hugging Face stack it supports, then clinr1 from its repository, cloned so
# that its recipes are at hand. Run this cell first, in a fresh runtime, before anything
# imports torch.

# %%
PINS = [
    "torch==2.13.0",
    "torchvision==0.28.0",
    "triton==3.7.1",
    "xformers==0.0.35",
    "unsloth==2026.10.9",
    "unsloth_zoo==2026.10.9",
    "transformers==5.17.0",
    "trl==1.14.2",
    "peft==0.21.2",
    "datasets==4.8.5",
    "accelerate==1.15.0",
    "bitsandbytes==0.50.2",
]

if SMOKE:
    import clinr1 as _pkg

    REPO = Path(_pkg.__file__).resolve().parents[1]
    skip(f"smoke mode: clinr1 and its stack are already installed (checkout {REPO})")
else:
    REPO = WORK / "clinr1"
    if not REPO.is_dir():
        subprocess.run(["git", "clone", "--depth", "1", REPO_URL, str(REPO)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *PINS, str(REPO)], check=True)
RECIPES = REPO / "recipes"
assert (RECIPES / "crpo-t4.yaml").is_file(), f"no recipes in {RECIPES}"
clinr1("version")

# %% [markdown]
# ## 2. Load Qwen2.5-3B-Instruct in 4-bit through Unsloth (1-2 min, ~2.5 GB of GPU memory)
# A check that the GPU, bitsandbytes and Unsloth work before the long run: the model is loaded
# the way training loads it, one short answer is generated, and the memory is freed again.

# %%
if SMOKE:
    skip("smoke mode: 4-bit loading (bitsandbytes) needs a CUDA GPU")
else:
    import torch

    from clinr1.config import ModelConfig
    from clinr1.engine import load_model

    assert torch.cuda.is_available(), "no GPU: choose a GPU runtime (see the top of the notebook)"
    print(torch.cuda.get_device_name(0))
    cfg = ModelConfig(
        name_or_path=MODEL, engine="unsloth", load_in_4bit=True, dtype="float16", lora=None
    )
    loaded = load_model(cfg, trainable=False)
    tok = loaded.tokenizer
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": "Name one cause of microcytic anaemia."}],
        tokenize=False,
        add_generation_prompt=True,
    )
    ids = tok(prompt, return_tensors="pt").to("cuda")
    out = loaded.model.generate(**ids, max_new_tokens=40, do_sample=False)
    print(tok.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True))
    print(f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
    del loaded, out, ids
    torch.cuda.empty_cache()

# %% [markdown]
# ## 3. Cold-start SFT (optional; ~20 min for 200 steps, ~8 GB)
# The paper first fine-tunes on ~5k reasoning traces so that CRPO starts from a model that
# writes `<dx>` / `<conclusion>` / `\boxed{X}`. Upload your traces to `TRACES` (make them with
# `clinr1 distill`, see `docs/distill.md`) and set `RUN_COLD_START = True`; otherwise CRPO
# starts from the instruct model, which follows the format from the system prompt alone.
# (In smoke mode the tiny random model must learn the structure first, so this cell always
# runs there, on rule-written traces of the bundled vignettes.)

# %%
SFT_DIR = OUT / "sft-coldstart"
if SMOKE:
    from clinr1.data import demo_items
    from clinr1.demo import demo_recipe_path
    from clinr1.traces import write_traces

    traces = write_traces(demo_items(), OUT / "traces.jsonl", compact=True)
    clinr1(
        "sft", demo_recipe_path(),
        "--set", f"train.output_dir={SFT_DIR}",
        "--set", f"data.train={{name: jsonl, path: {traces}}}",
        "--set", f"sft.max_steps={SFT_STEPS}",
        "--set", "sft.save_steps=1000",
    )  # fmt: skip
elif RUN_COLD_START and Path(TRACES).is_file():
    clinr1(
        "sft", RECIPES / "sft-coldstart.yaml",
        "--set", f"data.train.path={TRACES}",
        "--set", f"train.output_dir={SFT_DIR}",
        "--set", f"sft.max_steps={SFT_STEPS}",
        "--set", "sft.bf16=false",  # the T4 has no bf16
        "--set", "sft.fp16=true",
    )  # fmt: skip
elif RUN_COLD_START:
    skip(f"RUN_COLD_START is set but {TRACES} does not exist; upload it or run clinr1 distill")
else:
    skip("RUN_COLD_START = False: CRPO starts from the instruct model")

# %% [markdown]
# ## 4. CRPO on MedQA (`recipes/crpo-t4.yaml`; ~40 min for 60 steps, ~13 GB)
# G = 8 completions per prompt, 512 tokens at most, fp16, LoRA r = 16, accuracy ×10 +
# faithfulness + comprehensiveness. Each logged step prints the total reward and each
# objective; `metrics.jsonl` keeps them for the plots. Running the cell again resumes from the
# last checkpoint (every 20 steps).

# %%
CRPO_DIR = OUT / "crpo-t4"
if SMOKE:  # the smoke recipe (LoRA on the tiny model), starting from the cold-start model
    BASE = str(SFT_DIR)
    clinr1(
        "train", RECIPES / "smoke.yaml",
        "--set", f"model.name_or_path={BASE}",
        "--set", f"train.output_dir={CRPO_DIR}",
        "--set", f"grpo.max_steps={CRPO_STEPS}",
        "--set", "grpo.max_completion_length=224",
        "--set", "grpo.learning_rate=2e-4",
        "--set", "grpo.temperature=0.8",
    )  # fmt: skip
else:
    BASE = MODEL
    cold_start = (SFT_DIR / "adapter_config.json").is_file()
    extra = ["--set", f"model.adapter={SFT_DIR}"] if cold_start else []
    clinr1(
        "train", RECIPES / "crpo-t4.yaml",
        "--set", f"train.output_dir={CRPO_DIR}",
        "--set", f"grpo.max_steps={CRPO_STEPS}",
        *extra,
    )  # fmt: skip

# %% [markdown]
# ## 5. Evaluate before and after (~15 min each for 3 × 50 items, ~5 GB)
# `clinr1 eval` on a slice of MedQA, MedMCQA and MedXpertQA: greedy decoding, the crpo prompt,
# accuracy with its 95% interval, format, faithfulness and comprehensiveness. "Before" is the
# starting model (with the cold-start adapter if you ran it), "after" adds the CRPO adapter.
# Re-running resumes where it stopped.

# %%
if SMOKE:
    BENCH = ["--benchmark", "demo", "--max-new-tokens", "224", "--batch-size", "4"]
else:
    BENCH = ["--benchmark", "medqa,medmcqa,medxpertqa", "--max-new-tokens", "1024"]
before = ["--adapter", SFT_DIR] if (SFT_DIR / "adapter_config.json").is_file() else []
clinr1(
    "eval", "--model", BASE, *before, *BENCH,
    "--limit", EVAL_LIMIT, "--out", OUT / "eval-before",
)  # fmt: skip
clinr1(
    "eval", "--model", BASE, "--adapter", CRPO_DIR, *BENCH,
    "--limit", EVAL_LIMIT, "--out", OUT / "eval-after",
)  # fmt: skip

# %% [markdown]
# ## 6. Reward curves and the before/after table
# The CRPO total (maximum 12) and each objective's mean per logged step, then every metric of
# the two evaluations side by side (rates in %), with the paper's numbers as reference rows.

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from clinr1.evaluate import compare_tables, render_markdown
from clinr1.runlog import read_metrics

records = [r for r in read_metrics(CRPO_DIR / "metrics.jsonl") if "reward" in r]
panels = [("reward", "CRPO total (max 12)")] + [
    (f"rewards/{n}/mean", n) for n in ("accuracy", "faithfulness", "comprehensiveness", "format")
]
fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3), sharex=True)
for ax, (key, title) in zip(axes, panels, strict=True):
    points = [(r["step"], r[key]) for r in records if key in r]
    ax.plot([s for s, _ in points], [v for _, v in points], marker=".")
    ax.set_title(title)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
fig.tight_layout()
fig.savefig(OUT / "crpo_rewards.png", dpi=120)
plt.show()

table = compare_tables([OUT / "eval-before", OUT / "eval-after"], labels=["before", "after"])
display(Markdown(render_markdown(table)))

# %% [markdown]
# ## 7. Chat with the model (~1 min to load, ~3 GB)
# The CRPO model answers a vignette; its reply is scored by the same CRPO rewards it was
# trained on. Call `ask("...")` with your own case (question, then one `A. ...` line per
# option). The same chat in a terminal: `clinr1 chat --adapter outputs/crpo-t4`.

# %%
import threading

from clinr1.chat import Conversation, Reply, case_scores, parse_case
from clinr1.config import ModelConfig
from clinr1.data import demo_items
from clinr1.engine import load_model
from clinr1.evaluate.generate import HFStreamer
from clinr1.prompts import format_question

chat_cfg = ModelConfig(
    name_or_path=BASE,
    engine="hf" if SMOKE else "unsloth",
    load_in_4bit=not SMOKE,
    dtype="float32" if SMOKE else "float16",
    lora=None,
)
loaded = load_model(chat_cfg, trainable=False, adapter=str(CRPO_DIR), verbose=False)
backend = HFStreamer(loaded.model, loaded.tokenizer, max_new_tokens=224 if SMOKE else 1024)
conversation = Conversation(backend, template="crpo")


def ask(text: str, gold: str | None = None) -> str:
    """Send one user turn, print the reply as it streams, then its CRPO scores for a case."""
    messages = conversation.check(text)
    start, chunks = time.time(), []
    for chunk in conversation.stream(messages, threading.Event()):
        print(chunk, end="", flush=True)
        chunks.append(chunk)
    reply = "".join(chunks)
    conversation.commit(messages, Reply(reply, False, time.time() - start))
    try:
        item = parse_case(text)
    except ValueError:
        return reply  # not a multiple-choice case: nothing to score
    scores = case_scores(reply, item, gold, "crpo")
    keys = ("format", "faithfulness", "comprehensiveness", "accuracy", "total")
    print("\n\nCRPO scores:", {k: scores.get(k) for k in keys})
    return reply


case = demo_items()[0]
print(format_question(case), "\n")
_ = ask(format_question(case), gold=case.answer)
conversation.reset()

# %% [markdown]
# ## 8. Export: LoRA, merged 16-bit, GGUF (~5-10 min, disk ~8 GB)
# `lora` is the adapter alone (~120 MB, load it with PEFT on the base model); `merged16` is a
# standalone model in float16 that plain `transformers` loads; `gguf` is one q4_k_m file for
# llama.cpp / Ollama (~2 GB). Each folder gets a model card with the recipe and the final
# metrics. The same from a shell: `clinr1 export --adapter outputs/crpo-t4 --to gguf`.

# %%
import gc

from clinr1.export import export

del loaded, backend, conversation
gc.collect()
if not SMOKE:
    import torch

    torch.cuda.empty_cache()

lora_dir = export(CRPO_DIR, "lora", out=OUT / "export-lora", overwrite=True)
merged_dir = export(CRPO_DIR, "merged16", out=OUT / "export-merged16", overwrite=True)
print(sorted(p.name for p in merged_dir.iterdir()))

# %%
if SMOKE:
    skip("smoke mode: the GGUF export builds llama.cpp and runs on the GPU runtime only")
elif not EXPORT_GGUF:
    skip("EXPORT_GGUF = False")
else:
    LLAMA = WORK / "llama.cpp"
    if not LLAMA.is_dir():
        subprocess.run(
            ["git", "clone", "--depth", "1", "https://github.com/ggml-org/llama.cpp", str(LLAMA)],
            check=True,
        )
        subprocess.run(["cmake", "-S", LLAMA, "-B", LLAMA / "build"], check=True)
        subprocess.run(
            ["cmake", "--build", LLAMA / "build", "-j", "4", "--target", "llama-quantize"],
            check=True,
        )
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "gguf", "sentencepiece"], check=True
        )
    os.environ["LLAMA_CPP_DIR"] = str(LLAMA)
    gguf_dir = export(CRPO_DIR, "gguf", quant="q4_k_m", out=OUT / "export-gguf", overwrite=True)
    print(sorted(p.name for p in gguf_dir.iterdir()))

# %% [markdown]
# ## 9. Push to the Hugging Face Hub (optional)
# Set `HUB_REPO` above and store a write token as the secret `HF_TOKEN`
# {{SECRETS_HOW}}. The merged model and its model card are uploaded; the token is never printed.

# %% tags=["colab"]
def hub_token() -> str | None:
    try:
        from google.colab import userdata

        return userdata.get("HF_TOKEN")
    except Exception:  # not in Colab, or the secret is missing / not shared with the notebook
        return os.environ.get("HF_TOKEN")


# %% tags=["kaggle"]
def hub_token() -> str | None:
    try:
        from kaggle_secrets import UserSecretsClient

        return UserSecretsClient().get_secret("HF_TOKEN")
    except Exception:  # not in Kaggle, or the secret is missing / not attached
        return os.environ.get("HF_TOKEN")


# %%
if SMOKE:
    skip("smoke mode: nothing is uploaded")
elif not HUB_REPO:
    skip('HUB_REPO is empty; set it (e.g. "your-name/qwen2.5-3b-clinr1-crpo") to upload')
elif not (token := hub_token()):
    skip("no HF_TOKEN secret found; add a write token as the secret HF_TOKEN")
else:
    from clinr1.export import push

    print(push(merged_dir, HUB_REPO, token))
