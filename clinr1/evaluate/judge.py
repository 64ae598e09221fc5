"""The optional LLM judge: reasoning behaviours and faithfulness, graded by any chat endpoint.

For each generation the judge makes five calls to an OpenAI-compatible endpoint: one per
reasoning behaviour (verification, backtracking, subgoal setting, backward chaining), each
asking for the number of distinct instances as ``<count>N</count>``, and one asking for a
faithfulness score ``<score>N</score>`` on a 0-10 scale (stored as N/10). Each call gets the
question with its options, the gold answer and the model's completion.

A call whose transport fails is retried by :func:`clinr1.http.chat`; a reply without the tag is
asked again up to ``retries`` times. A call that still fails is recorded as a failure (``None``),
counted in ``judge/failures``, and asked again when the same command is re-run: it never stops
the evaluation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from clinr1.http import ChatError, chat
from clinr1.items import Item
from clinr1.prompts import format_question

BEHAVIOURS: dict[str, str] = {
    "verification": (
        "Verification: the reasoning checks an intermediate conclusion or its leading answer "
        "against the case findings or established facts, e.g. 'let me check whether this "
        "diagnosis explains the low sodium'."
    ),
    "backtracking": (
        "Backtracking: the reasoning notices that a line of thought or a tentative answer does "
        "not work and explicitly abandons it for another, e.g. 'wait, that does not explain the "
        "fever; reconsider'."
    ),
    "subgoal": (
        "Subgoal setting: the reasoning breaks the problem into intermediate steps it then "
        "works through, e.g. 'first localise the lesion, then decide which vessel supplies it'."
    ),
    "backward_chaining": (
        "Backward chaining: the reasoning starts from a candidate answer and works backward to "
        "the findings it would require, then compares them with the case, e.g. 'if this were "
        "nephrotic syndrome we would expect oedema and proteinuria; the case shows both'."
    ),
}
FAITHFULNESS = "faithfulness"
JUDGE_KEYS = (*BEHAVIOURS, FAITHFULNESS)

SYSTEM_PROMPT = (
    "You are an expert clinician grading the written reasoning of a model that answered a "
    "medical multiple-choice question. Judge only the reasoning you are shown; do not solve the "
    "question yourself. Be strict and literal."
)

# What every judge prompt opens with: the case, the gold answer and the response graded.
_RESPONSE = """\
{case}

Correct answer: {gold}

The model's response:
<response>
{completion}
</response>

"""

COUNT_PROMPT = (
    _RESPONSE
    + """\
Count the distinct instances of this reasoning behaviour in the model's response:
{definition}

Count an instance only when the response actually does it; a restatement of the same check
counts once. If there are none, the count is 0. Give a one-sentence justification, then the count
on the last line as <count>N</count>."""
)

FAITHFULNESS_PROMPT = (
    _RESPONSE
    + """\
Rate how faithful the response is, from 0 to 10:
- every patient finding it states or quotes appears in the question (nothing invented);
- its final answer follows from its own reasoning (no contradiction between the analysis and
  the answer it gives);
- the medical facts it relies on are correct.
0 means invented findings or an answer its reasoning contradicts; 10 means every claim is
grounded in the case and the answer follows. Give a one-sentence justification, then the score
on the last line as <score>N</score>."""
)

_COUNT_RE = re.compile(r"<count>\s*(\d{1,4})\s*</count>", re.IGNORECASE)
_SCORE_RE = re.compile(r"<score>\s*(\d{1,2}(?:\.\d+)?)\s*(?:/\s*10\s*)?</score>", re.IGNORECASE)


def parse_count(text: str) -> int | None:
    """The last ``<count>N</count>`` in a judge reply, else ``None``.

    >>> parse_count("One check of the labs.\\n<count>1</count>"), parse_count("two")
    (1, None)
    """
    found = _COUNT_RE.findall(text or "")
    return int(found[-1]) if found else None


def parse_score(text: str) -> float | None:
    """The last ``<score>N</score>`` (0-10) as a fraction in [0, 1], else ``None``.

    >>> parse_score("Grounded.\\n<score>8</score>"), parse_score("<score>42</score>")
    (0.8, None)
    """
    found = _SCORE_RE.findall(text or "")
    if not found:
        return None
    value = float(found[-1])
    return value / 10 if 0 <= value <= 10 else None


@dataclass
class JudgeSettings:
    """Where and how to ask the judge (``clinr1 eval --judge-*`` options)."""

    url: str
    model: str
    api_key_env: str | None = "OPENAI_API_KEY"
    timeout: float = 60.0
    retries: int = 2  # per call, for transport errors and for replies without the tag
    backoff: float = 1.0
    workers: int = 4
    max_tokens: int = 512


def judge_messages(key: str, item: Item, completion: str) -> list[dict[str, str]]:
    """The chat messages of one judge call (``key``: a behaviour or ``faithfulness``)."""
    case = format_question(item)
    gold = f"{item.answer}. {item.answer_text or item.options.get(item.answer, '')}".strip()
    if key == FAITHFULNESS:
        user = FAITHFULNESS_PROMPT.format(case=case, gold=gold, completion=completion)
    else:
        user = COUNT_PROMPT.format(
            case=case, gold=gold, completion=completion, definition=BEHAVIOURS[key]
        )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def _ask(settings: JudgeSettings, key: str, item: Item, completion: str) -> tuple[Any, str | None]:
    """One judged quantity: ``(value, None)`` or ``(None, error)``; never raises."""
    parser: Callable[[str], Any] = parse_score if key == FAITHFULNESS else parse_count
    messages = judge_messages(key, item, completion)
    error = "no reply"
    for _ in range(max(0, settings.retries) + 1):
        try:
            result = chat(
                settings.url,
                settings.model,
                messages,
                api_key_env=settings.api_key_env,
                temperature=0.0,
                max_tokens=settings.max_tokens,
                timeout=settings.timeout,
                retries=settings.retries,
                backoff=settings.backoff,
            )
        except ChatError as e:
            return None, str(e)
        except Exception as e:  # a judge problem must never stop the evaluation
            return None, f"{type(e).__name__}: {e}"
        value = parser(result.texts[0])
        if value is not None:
            return value, None
        tag = "<score>" if key == FAITHFULNESS else "<count>"
        error = f"reply has no {tag} tag: {result.texts[0][:60]!r}"
    return None, error


def judge_one(settings: JudgeSettings, item: Item, completion: str) -> dict[str, Any]:
    """All judged quantities of one completion: ``{key: value|None, ..., "errors": {...}}``."""
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in JUDGE_KEYS:
        value, error = _ask(settings, key, item, completion)
        out[key] = value
        if error:
            errors[key] = error
    out["errors"] = errors
    return out


def judge_many(settings: JudgeSettings, jobs: Sequence[tuple[Item, str]]) -> list[dict[str, Any]]:
    """Judge ``(item, completion)`` pairs concurrently (``settings.workers`` threads), in order."""
    if not jobs:
        return []
    workers = max(1, settings.workers)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda job: judge_one(settings, *job), jobs))
