"""The offline tiny model ``tiny-random-qwen2``: a real Qwen2 architecture small enough for a CPU.

It is built, once, into a cache folder: a byte-level BPE tokenizer trained with ``tokenizers`` on
a few hundred lines of clinical text and clinr1's prompt wording (ChatML chat template,
``<|im_end|>`` as EOS), and a 2-layer Qwen2 with random weights (about 120k parameters). The
result is an ordinary Hugging Face model folder, so every engine loads it like a hub model; the
tests and ``make demo`` use it because the hub is out of reach on CI. ``model.name_or_path:
tiny-random-qwen2`` resolves to it (:func:`clinr1.engine.resolve_model`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from clinr1.cache import build_once, cache_dir
from clinr1.config import TINY_MODEL

# Bump when the recipe below changes, so cached copies are rebuilt.
_BUILD_VERSION = 4
_MARKER = "clinr1_tiny.json"
VOCAB_SIZE = 768
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

_CLINICAL_LINES = """\
A 45-year-old man presents with chest pain radiating to the left arm for 2 hours.
A 23-year-old woman comes to the emergency department with fever and neck stiffness.
Blood pressure is 90/60 mm Hg, pulse is 120/min, and respirations are 24/min.
Temperature is 39.2 C. Physical examination shows crackles at the right lung base.
Laboratory studies show a hemoglobin of 8.1 g/dL and a leukocyte count of 15,000/mm3.
Serum sodium is 128 mEq/L, potassium 5.9 mEq/L, and creatinine 2.4 mg/dL.
An electrocardiogram shows ST-segment elevation in leads II, III, and aVF.
A chest x-ray shows a right lower lobe consolidation.
Which of the following is the most likely diagnosis?
Which of the following is the most appropriate next step in management?
Which of the following is the most likely cause of this patient's symptoms?
Which of the following is the mechanism of action of the most appropriate drug?
The findings support this option because the case describes the typical presentation.
This option is ruled out because the patient has no history of exposure.
This option is unlikely since the laboratory values do not fit.
Let me verify the answer against the findings before concluding.
Working backward from the diagnosis, the expected findings match the case.
First, identify the organ system involved; second, narrow the differential.
Wait, reconsider: the timeline does not fit this option, so go back to the findings.
The answer is supported by the quoted evidence from the case.
Option A is ruled out. Option B is ruled out. Option C fits the findings.
Option D does not explain the fever. Option E is a distractor.
Myocardial infarction, pneumonia, meningitis, pulmonary embolism, appendicitis.
Diabetic ketoacidosis, hypothyroidism, hyperthyroidism, anemia, sepsis, stroke.
Aspirin, heparin, ceftriaxone, vancomycin, insulin, levothyroxine, metformin.
The patient has a history of hypertension, diabetes mellitus, and smoking.
She reports fatigue, weight loss, and night sweats over the past 3 months.
He has had vomiting and diarrhea for 2 days and appears dehydrated.
"""


def _corpus() -> list[str]:
    """A few hundred lines: clinical sentences, the prompt wording and the bundled demo items."""
    from clinr1.prompts import SECTIONS, TEMPLATES, system_prompt

    lines = _CLINICAL_LINES.splitlines()
    for template in TEMPLATES:
        lines += system_prompt(template).splitlines()
    for tags in SECTIONS.values():
        for tag in tags:
            lines.append(f"<{tag}>\n</{tag}>")
    lines += [f"\\boxed{{{letter}}}" for letter in "ABCDEFGHIJ"]
    demo = Path(__file__).parent / "assets" / "demo_items.jsonl"
    if demo.is_file():
        from clinr1.items import Item
        from clinr1.traces import compact_trace

        for row in demo.read_text(encoding="utf-8").splitlines():
            try:
                item = Item.from_dict(json.loads(row))
            except (ValueError, TypeError):
                continue
            lines.append(item.question)
            lines += [f"{k}. {v}" for k, v in item.options.items()]
            # The demo's cold-start traces: merges for their phrases keep completions short.
            lines += compact_trace(item).splitlines()
    return [line for line in lines if line.strip()]


def _fingerprint(lines: list[str]) -> str:
    h = hashlib.sha256(f"v{_BUILD_VERSION}\n".encode())
    h.update("\n".join(lines).encode())
    return h.hexdigest()[:12]


def build_tokenizer(lines: list[str]):
    """Train a byte-level BPE tokenizer and wrap it as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(lines, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        unk_token=None,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny_model(out_dir: str | Path, seed: int = 0) -> Path:
    """Build tokenizer + random 2-layer Qwen2 into ``out_dir`` (overwritten)."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    out = Path(out_dir)
    lines = _corpus()
    tokenizer = build_tokenizer(lines)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
        torch_dtype="float32",
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        do_sample=False,
    )
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / _MARKER).write_text(json.dumps({"fingerprint": _fingerprint(lines)}))
    return out


def tiny_model_path() -> Path:
    """The cached tiny model folder, built on first use (atomically, so readers never see half)."""
    lines = _corpus()
    target = cache_dir() / f"{TINY_MODEL}-{_fingerprint(lines)}"
    return build_once(target, _MARKER, build_tiny_model)
