"""The rewards on the real MedQA and MedMCQA samples in ../shared/data, with completions we write.

Skipped when the samples are absent. Rows are converted to items here (not through the data
adapters, which are tested on their own).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from clinr1.rewards import extract_answer, score_completion

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
REASONS = (
    "its mechanism does not address the process these findings describe",
    "the time course in this case argues against it",
    "it would need a laboratory picture that this patient does not show",
    "it is a second-line choice that is inappropriate before the first-line measure",
    "the presentation lacks the features that usually define it",
)


def rows(name: str) -> list[dict]:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"sample {path} not present")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def medqa_items() -> list[dict]:
    return [
        {"question": r["question"], "options": r["options"], "answer": r["answer_idx"]}
        for r in rows("medqa_usmle_test_sample.jsonl")
    ]


def medmcqa_items() -> list[dict]:
    out = []
    for r in rows("medmcqa_dev_sample.jsonl"):
        options = {k: r[f"op{k.lower()}"] for k in "ABCD"}
        out.append({"question": r["question"], "options": options, "answer": "ABCD"[r["cop"] - 1]})
    return out


def findings(question: str, n: int = 3) -> list[str]:
    """Verbatim spans of up to 6 words from the case's sentences (not its final question)."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n", question.strip()) if s]
    body = sentences[:-1] or sentences
    spans = []
    for s in body:
        words = s.split()
        if len(words) >= 4:
            spans.append(" ".join(words[:6]).rstrip(",;:."))
    return [s.replace('"', "") for s in spans if '"' not in s][:n]


def written(item: dict, letter: str | None = None, quotes: list[str] | None = None) -> str:
    """A faithful, comprehensive crpo completion for ``item``, boxing ``letter``."""
    gold = item["answer"]
    letter = letter or gold
    quotes = findings(item["question"]) if quotes is None else quotes
    lines = ["Findings: " + ", ".join(f'"{q}"' for q in quotes) + "."]
    lines.append("First, I summarise what the case establishes.")
    lines.append("Then I weigh each option against those findings.")
    for i, (k, text) in enumerate(item["options"].items()):
        if k == gold:
            lines.append(f"Option {k} ({text}): it explains the findings above; most likely.")
        else:
            lines.append(f"Option {k} ({text}): {REASONS[i % len(REASONS)]}; ruled out.")
    lines.append(f'To verify, option {gold} is consistent with "{quotes[0]}".' if quotes else "")
    conclusion = f"Given {quotes[0] if quotes else 'the case'}, option {gold} is the answer."
    dx = "\n".join(lines)
    return f"<dx>\n{dx}\n</dx>\n<conclusion>\n{conclusion} \\boxed{{{letter}}}\n</conclusion>"


def test_medqa_written_completions_score_high() -> None:
    items = medqa_items()
    totals = []
    for item in items:
        s = score_completion(written(item), item)
        assert s["accuracy"] == 1.0 and s["format"] == 1.0, item["question"][:60]
        assert s["extracted"] == item["answer"]
        assert s["comprehensiveness/distractor_coverage"] == 1.0, item["question"][:60]
        totals.append(s["total"])
    assert sum(totals) / len(totals) > 11.5


def test_medqa_wrong_letter_and_fabrication() -> None:
    for item in medqa_items()[:30]:
        wrong = next(k for k in item["options"] if k != item["answer"])
        honest = score_completion(written(item), item)
        boxed_wrong = score_completion(written(item, letter=wrong), item)
        made_up = [
            "a markedly enlarged liver on palpation",
            "teardrop cells on the smear",
            "recurrent fevers since childhood in him",
        ]
        fabricated = score_completion(written(item, quotes=made_up), item)
        assert boxed_wrong["accuracy"] == 0.0 and boxed_wrong["total"] < honest["total"]
        assert fabricated["faithfulness"] < honest["faithfulness"]
        assert fabricated["faithfulness/fabricated_quotes"] == 3


def test_medmcqa_short_questions() -> None:
    for item in medmcqa_items():
        s = score_completion(written(item), item)
        assert s["accuracy"] == 1.0
        assert 0.0 <= s["faithfulness"] <= 1.0 and 0.0 <= s["comprehensiveness"] <= 1.0
        assert s["faithfulness/fabricated_quotes"] == 0


def test_extraction_on_samples() -> None:
    for item in medqa_items():
        gold = item["answer"]
        text = item["options"][gold]
        assert extract_answer(f"The answer is ({gold}).", item["options"]) == gold
        got = extract_answer(f"Final answer: {text}", item["options"], match_text=True)
        assert got == gold, (text, item["options"])
