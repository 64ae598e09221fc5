"""Cold-start traces without a teacher: real findings, distinct reasons, varied formats, and
every kept trace verified by the rewards it teaches."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path

from clinr1.data import demo_items
from clinr1.items import Item
from clinr1.rewards import score_completion
from clinr1.rewards.text import normalise
from clinr1.traces import (
    STYLES,
    case_findings,
    compact_trace,
    plan,
    verified_trace,
    write_trace,
    write_traces,
)

ITEMS = demo_items()


def test_case_findings_are_verbatim_informative_and_skip_the_question() -> None:
    question = (
        "A 45-year-old man comes to the physician because of chest pain for 2 hours. Troponin "
        "is 3.1 ng/mL, and the ECG is abnormal. Which of the following is the most likely "
        "diagnosis?"
    )
    found = case_findings(question)
    assert "Troponin is 3.1 ng/mL" in found
    assert all(f in question for f in found)
    assert not any("Which" in f or f.startswith("A 45-year-old man comes") for f in found)


def test_compact_traces_earn_the_rewards_they_teach() -> None:
    for item in ITEMS:
        s = score_completion(compact_trace(item), item)
        assert s["accuracy"] == 1.0 and s["format"] == 1.0, item.id
        assert s["faithfulness/fabricated_quotes"] == 0, item.id
        assert s["faithfulness"] > 0.5 and s["comprehensiveness"] >= 0.8, item.id


def test_varied_traces_pass_the_rewards_and_vary() -> None:
    styles: Counter[str] = Counter()
    openings = set()
    for item in ITEMS:
        got = verified_trace(item, seed=3)
        assert got is not None, item.id
        text, scores = got
        assert scores["faithfulness"] >= 0.6 and scores["comprehensiveness"] >= 0.6
        styles[_style(text)] += 1
        openings.add(text.split("\n")[1])
    assert len(styles) >= 5, styles  # several formats
    assert len(openings) >= 3  # several wordings of the plan


def _style(text: str) -> str:
    if "| Option |" in text:
        return "table"
    for name, pattern in (
        ("headers", r"### Option"),
        ("bullets", r"- \*\*[A-E]\."),
        ("paren", r"^\([A-E]\) "),
        ("letter", r"^[A-E]\. "),
        ("option", r"^Option [A-E] \("),
    ):
        if re.search(pattern, text, re.MULTILINE):
            return name
    return "text"


def test_distractor_reasons_differ_within_a_trace() -> None:
    for item in ITEMS:
        p = plan(item, random.Random(item.id))
        reasons = [normalise(p.reasons[k]) for k in p.options if k != p.answer]
        assert len(set(reasons)) == len(reasons)


def test_the_explanation_gives_the_answers_reason() -> None:
    item = Item(
        "x",
        "medmcqa",
        "Which of the following increases callus formation:",
        {"A": "Rigid immobilization", "B": "Movement at fracture site"},
        "B",
        explanation="Ans: B. Movement at fracture site (Ref Apley 9/e p689)Micro movements at "
        "fracture site encourage vascular proliferation and increase callus formation.",
    )
    reason = plan(item, random.Random(0)).reasons["B"]
    assert reason.startswith("Micro movements") and "vascular proliferation" in reason


def test_every_style_renders_and_the_seed_decides() -> None:
    item = ITEMS[0]
    assert write_trace(item, seed=1) == write_trace(item, seed=1)
    assert len({write_trace(item, seed=s) for s in range(6)}) > 1
    for style in STYLES:
        assert "\\boxed{" in write_trace(item, seed=0, style=style)


def test_write_traces(tmp_path: Path) -> None:
    path = write_traces(ITEMS[:5], tmp_path / "t.jsonl", seed=1)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["id"] for r in rows] == [i.id for i in ITEMS[:5]]
    assert all(r["completion"].startswith("<dx>") for r in rows)
    assert not list(tmp_path.glob("*.tmp"))
    compact = write_traces(ITEMS[:2], tmp_path / "c.jsonl", compact=True)
    assert json.loads(compact.read_text().splitlines()[0])["completion"] == compact_trace(ITEMS[0])


def _quoted_findings(text: str) -> list[str]:
    line = next(x for x in text.splitlines() if x.endswith(('".', "”.")) and ":" in x)
    return re.findall(r'["“]([^"”]+)["”]', line)


def _brief_against_full(items: list[Item]) -> tuple[int, int, int]:
    """(items with a verified brief trace, words of those brief traces, words of the full ones)."""
    kept = brief_words = full_words = 0
    for item in items:
        brief, full = verified_trace(item, brief=True), verified_trace(item)
        if brief is None or full is None:
            continue
        kept += 1
        brief_words += len(brief[0].split())
        full_words += len(full[0].split())
        assert brief[1]["faithfulness"] >= 0.6 and brief[1]["comprehensiveness"] >= 0.6
    return kept, brief_words, full_words


def test_brief_traces_are_shorter_and_still_verified() -> None:
    kept, brief_words, full_words = _brief_against_full(ITEMS)
    assert kept >= 0.95 * len(ITEMS)
    assert brief_words < 0.85 * full_words, (brief_words, full_words)
    for item in ITEMS:
        p = plan(item, random.Random(item.id), brief=True)
        assert len(p.findings) <= 2 and all(len(f.split()) <= 5 for f in p.findings)
        assert not p.extras and not p.first_guess  # no optional behaviours
        others = [k for k in p.options if k != p.answer]
        assert not any('"' in p.reasons[k] for k in others)  # short reasons, no quote


def test_quotes_are_verbatim_and_whole() -> None:
    """Every quote in a trace, brief or full, is the case's own words, never cut inside a
    bracket ("temperature is 38°C (100.4°F")."""
    for item in ITEMS:
        case = " ".join(f"{item.context or ''} {item.question}".split())
        for seed in range(3):
            for brief in (False, True):
                for quote in re.findall(r'["“]([^"”]+)["”]', write_trace(item, seed, brief=brief)):
                    assert quote in case, (item.id, quote)
                    assert quote.count("(") == quote.count(")"), (item.id, quote)
    found = case_findings("Her temperature is 38.5°C (101.3°F) and she has had a rash for 2 days.")
    assert all(f.count("(") == f.count(")") for f in found) and found


def test_brief_traces_on_real_items(shared_data: Path) -> None:
    from clinr1.data import DataSource, load_items

    items: list[Item] = []
    for name, file in (("medqa", "medqa_usmle_test_sample.jsonl"),
                       ("medmcqa", "medmcqa_dev_sample.jsonl")):  # fmt: skip
        items += load_items(DataSource(name=name, path=str(shared_data / file))).items[:40]
    kept, brief_words, full_words = _brief_against_full(items)
    assert kept >= 0.95 * len(items)
    assert brief_words < 0.85 * full_words, (brief_words, full_words)
