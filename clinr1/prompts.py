"""Prompt templates: an item becomes conversational messages for TRL and for generation.

Three templates:

* ``crpo`` -- the Clinical-R1 structure: a ``<dx>`` analysis that quotes the case findings it
  relies on verbatim and rules every option in or out, then a ``<conclusion>`` that cites that
  evidence and ends in ``\\boxed{LETTER}``.
* ``r1`` -- ``<think>...</think><answer>... \\boxed{X}</answer>``, the format of the paper's
  public code.
* ``plain`` -- free chain of thought ending in ``\\boxed{X}``.

The section tags of each template are in :data:`SECTIONS`; the reward parser reads them from here
so that what is asked for is what is scored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clinr1.items import Item, as_options

TEMPLATES = ("crpo", "r1", "plain")

# Ordered (tag, role) pairs each template asks for; ``plain`` has no tags.
SECTIONS: dict[str, tuple[str, ...]] = {
    "crpo": ("dx", "conclusion"),
    "r1": ("think", "answer"),
    "plain": (),
}

_SYSTEM = {
    "crpo": (
        "You are a careful clinician answering a multiple-choice medical question. "
        "Reason in two sections and write nothing outside them.\n"
        "<dx>\n"
        "First list the findings from the case that your reasoning depends on, each copied "
        "word for word from the question (at least three words: a symptom, sign or test "
        "result of this patient) inside double quotes. Then assess every option in turn "
        "(Option A, Option B, ...): give the reason the findings support it or rule it out, "
        'and end with a clear verdict ("ruled out" or "supported"; when the question asks '
        'which option is NOT true or is the EXCEPTION, call that option "the exception"). '
        "Check your leading answer against the findings before you commit to it.\n"
        "</dx>\n"
        "<conclusion>\n"
        "State the answer, cite the quoted findings from <dx> that support it, and end with the "
        "letter of the single best option in the form \\boxed{LETTER}.\n"
        "</conclusion>"
    ),
    "r1": (
        "You are a careful clinician answering a multiple-choice medical question. "
        "Think through the case step by step inside <think> </think>, then give your final "
        "answer inside <answer> </answer>, ending with the letter of the single best option "
        "in the form \\boxed{LETTER}."
    ),
    "plain": (
        "You are a careful clinician answering a multiple-choice medical question. "
        "Reason step by step, then end with the letter of the single best option in the form "
        "\\boxed{LETTER}."
    ),
}


def check_template(template: str) -> str:
    """Return ``template`` if it is known, else raise ``ValueError`` listing the valid names."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown prompt template {template!r}; valid: {', '.join(TEMPLATES)}")
    return template


def system_prompt(template: str) -> str:
    """The system message of ``template``."""
    return _SYSTEM[check_template(template)]


def format_question(item: Item | Mapping[str, Any]) -> str:
    """The user turn: optional context, the question, then one ``A. text`` line per option."""
    if isinstance(item, Item):
        question, options, context = item.question, item.options, item.context
    else:
        question = str(item.get("question") or "")
        options = as_options(item.get("options"))
        context = item.get("context")
    parts = []
    if context:
        parts.append(f"Context:\n{str(context).strip()}")
    parts.append(f"Question:\n{question.strip()}")
    parts.append("Options:\n" + "\n".join(f"{k}. {v}" for k, v in options.items()))
    return "\n\n".join(parts)


def render_messages(item: Item | Mapping[str, Any], template: str = "crpo") -> list[dict[str, str]]:
    """An item as chat messages (system + user), the conversational form TRL trains on."""
    return [
        {"role": "system", "content": system_prompt(template)},
        {"role": "user", "content": format_question(item)},
    ]
