"""Model cards, and the one disclaimer every card, banner and transcript carries.

* :func:`run_card` -- the ``README.md`` of a training run's folder (``train``, ``sft``): the base
  model, the data, the rewards and their weights, the recipe, how to use the result. TRL writes
  a card of its own at every checkpoint, which names a local base model as ``[None]``; the run
  writes this one in its place (:func:`clinr1.runlog.fit`).
* :func:`export_card` -- the ``README.md`` of ``clinr1 export``: the same, plus the final metrics
  from the run's ``run.json`` and how to load the exported kind.

Plain text from plain data (a resolved recipe as a mapping, a ``run.json``): no model, no GPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# The one disclaimer: the chat's banner and transcript, the web page and every model card.
DISCLAIMER = "research use only: not for clinical use, diagnosis or treatment decisions"
_CARD_DISCLAIMER = (
    f"**{DISCLAIMER[0].upper()}{DISCLAIMER[1:]}.** This model was trained to study clinical "
    "reasoning on multiple-choice questions. It is not a medical device, has not been clinically "
    "validated, and must not be used for diagnosis, treatment or any decision about a patient. "
    "Its answers and its quoted evidence can be wrong while looking confident."
)
_ABOUT = (
    "Trained with clinr1, a reproduction of *Clinical-R1* (arXiv 2512.00601): medical "
    "multiple-choice reasoning in a `<dx>` analysis that quotes the case and rules every option "
    "in or out, then a `<conclusion>` ending in `\\boxed{X}`, trained with CRPO rewards "
    "(accuracy, faithfulness, comprehensiveness)."
)
_KIND = {"grpo": "CRPO/GRPO", "sft": "cold-start SFT"}


def model_source(model: dict[str, Any]) -> str:
    """The model a recipe's ``model:`` section names: ``name_or_path``, or the GGUF file in it."""
    name = str(model.get("name_or_path") or "")
    gguf_file = model.get("gguf_file")
    return str(Path(name) / gguf_file) if name and gguf_file else name


def is_hub_id(name: str) -> bool:
    """Whether ``name`` reads as a hub id (``OWNER/NAME``) rather than a local path."""
    return name.count("/") == 1 and not Path(name).exists() and not name.startswith((".", "/"))


def _front_matter(base: str, library: str, tags: list[str]) -> list[str]:
    front: dict[str, Any] = {}
    if is_hub_id(base):
        front["base_model"] = base
    front["library_name"] = library
    front["tags"] = tags
    return ["---", yaml.safe_dump(front, sort_keys=False).rstrip(), "---", ""]


def _rewards(recipe: dict[str, Any]) -> str:
    """``accuracy × 10.0, faithfulness × 1.0, ...`` (empty without rewards)."""
    return ", ".join(f"{r.get('name')} × {r.get('weight')}" for r in recipe.get("rewards") or [])


def _recipe_yaml(recipe: dict[str, Any]) -> list[str]:
    return ["```yaml", yaml.safe_dump(recipe, sort_keys=False).rstrip(), "```", ""]


def run_card(recipe: dict[str, Any], kind: str) -> str:
    """``README.md`` of a run folder: what was trained from what, with which rewards and data."""
    model = recipe.get("model") or {}
    base = model_source(model)
    start = model.get("adapter")
    data = (recipe.get("data") or {}).get("train") or {}
    where = data.get("path") or data.get("hub") or ""
    split = f", split {data['split']}" if data.get("split") else ""
    tags = ["clinr1", "clinical-r1", kind, "medical", "reasoning", "trl"]
    lines = _front_matter(base, "peft" if model.get("lora") else "transformers", tags)
    lines += [
        f"# {base} + clinr1 {_KIND.get(kind, kind)}",
        "",
        f"> {_CARD_DISCLAIMER}",
        "",
        _ABOUT,
        "",
        f"- base model: `{base}`" + (f", starting from the adapter `{start}`" if start else ""),
        f"- data: {data.get('name', 'none')} {where}".rstrip() + split,
        f"- prompt template: `{(recipe.get('prompt') or {}).get('template', 'crpo')}`",
    ]
    if kind == "grpo" and _rewards(recipe):
        lines.append(f"- rewards: {_rewards(recipe)}")
    lines.append("")
    lines += ["## Recipe", "", "The resolved recipe (also `recipe.yaml`; metrics in `run.json`):"]
    lines += ["", *_recipe_yaml(recipe)]
    use = (
        f"`clinr1 chat --model {base} --adapter THIS_FOLDER`, `clinr1 eval --model {base} "
        "--adapter THIS_FOLDER`, or `clinr1 export --adapter THIS_FOLDER`."
    )
    lines += ["## Use", "", use, ""]
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def export_card(
    *, base: str, adapter: str, run: dict[str, Any] | None, to: str, quant: str, engine: str
) -> str:
    """``README.md`` for an export: front matter, disclaimer, recipe, metrics, how to load it."""
    run = run or {}
    recipe = run.get("recipe") or {}
    tags = ["clinr1", "clinical-r1", "crpo", "medical", "reasoning"]
    tags += {"lora": ["peft", "lora"], "gguf": ["gguf"]}.get(to, [])
    lines = _front_matter(base, "peft" if to == "lora" else "transformers", tags)
    title = {"lora": "LoRA adapter", "merged16": "merged model", "merged4": "merged 4-bit model"}
    what = title.get(to, f"GGUF ({quant.upper()})")
    lines += [
        f"# {base} + clinr1 {run.get('kind', 'LoRA')} ({what})",
        "",
        f"> {_CARD_DISCLAIMER}",
        "",
        _ABOUT,
        "",
        f"Exported with `clinr1 export --to {to}` ({engine} engine) from the adapter "
        f"`{adapter}` on `{base}`.",
        "",
    ]
    lines += ["## Recipe", ""]
    if recipe:
        if run.get("kind") == "grpo" and _rewards(recipe):
            lines += [f"Rewards: {_rewards(recipe)}", ""]
        steps = f"{run.get('global_step')} of {run.get('max_steps')}"
        lines += [
            f"Kind: {run.get('kind')}, steps {steps}, engine {run.get('engine')}, "
            f"wall time {run.get('wall_time_s')} s.",
            "",
            *_recipe_yaml(recipe),
        ]
    else:
        lines += ["No `run.json` was found beside the adapter: the recipe is not recorded.", ""]
    lines += ["## Metrics", ""]
    metrics = run.get("final_metrics") or {}
    if metrics:
        lines += ["Final values logged in training (`run.json`):", ""]
        lines += ["| metric | value |", "| --- | --- |"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in metrics.items()]
        lines.append("")
    else:
        lines += ["No training metrics recorded.", ""]
    lines += ["## Use", "", _usage(to, base, quant), ""]
    versions = run.get("versions") or {}
    if versions:
        lines += ["## Versions", ""]
        lines += [f"- {k} {v}" for k, v in versions.items()]
        lines.append("")
    return "\n".join(lines)


def _usage(to: str, base: str, quant: str) -> str:
    if to == "lora":
        return (
            "```python\nfrom peft import AutoPeftModelForCausalLM\n"
            'model = AutoPeftModelForCausalLM.from_pretrained("THIS_FOLDER_OR_REPO")\n```\n\n'
            f"or `clinr1 chat --model {base} --adapter THIS_FOLDER`."
        )
    if to == "gguf":
        return (
            f"```bash\nllama-cli -m THIS_FOLDER/*.{quant.upper()}.gguf -cnv\n```\n\n"
            "Give it the system prompt of clinr1's `crpo` template "
            "(`clinr1.prompts.system_prompt('crpo')`)."
        )
    return (
        "```python\nfrom transformers import AutoModelForCausalLM, AutoTokenizer\n"
        'model = AutoModelForCausalLM.from_pretrained("THIS_FOLDER_OR_REPO")\n'
        'tokenizer = AutoTokenizer.from_pretrained("THIS_FOLDER_OR_REPO")\n```\n\n'
        "or `clinr1 chat --model THIS_FOLDER`. The system prompt it was trained with is "
        "`clinr1.prompts.system_prompt('crpo')`."
    )
