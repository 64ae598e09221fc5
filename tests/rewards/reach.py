"""Every item the reward tests can reach: the bundled vignettes and the test fixtures always,
``../shared/data`` (100 real MedQA and 100 real MedMCQA rows) when it is beside the repo.

Rows are turned into items here with a few lines each (the data adapters have their own tests).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from clinr1.data import demo_items
from clinr1.items import LETTERS, Item

TESTS = Path(__file__).resolve().parents[1]
FIXTURES = TESTS / "data"
SHARED = TESTS.parent.parent / "shared" / "data"


def _rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # the bad-rows fixture
    return out


def _medqa(row: dict, source: str) -> Item | None:
    options = row.get("options")
    letter = row.get("answer_idx")
    if not isinstance(options, dict) or letter not in options:
        return None
    return Item(f"{source}-{row.get('row', len(row))}", source, row["question"], options, letter)


def _medmcqa(row: dict, base: int) -> Item:
    options = {k: row[f"op{k.lower()}"] for k in "ABCD"}
    answer = "ABCD"[int(row["cop"]) - base]
    return Item(str(row["id"]), "medmcqa", row["question"], options, answer, explanation=row["exp"])


@cache
def fixture_items() -> tuple[Item, ...]:
    """The bundled vignettes and the items of the test fixtures."""
    items: list[Item] = list(demo_items())
    for name in ("medqa_hub_4options.jsonl", "medqa_original_5options.jsonl"):
        items += [i for r in _rows(FIXTURES / name) if (i := _medqa(r, "medqa"))]
    items += [_medmcqa(r, 0) for r in _rows(FIXTURES / "medmcqa_hub.jsonl")]
    for r in _rows(FIXTURES / "mmlu_medical.jsonl"):
        options = dict(zip(LETTERS, r["choices"], strict=False))
        items.append(Item(r["question"][:40], "mmlu", r["question"], options, LETTERS[r["answer"]]))
    for r in _rows(FIXTURES / "medxpertqa_text.jsonl"):
        question = r["question"].split("\nAnswer Choices:")[0]
        items.append(Item(r["id"], "medxpertqa", question, r["options"], r["label"]))
    for r in _rows(FIXTURES / "pubmedqa_labeled.jsonl"):
        options = {"A": "yes", "B": "no", "C": "maybe"}
        answer = "ABC"[["yes", "no", "maybe"].index(r["final_decision"])]
        context = " ".join(r["context"]["contexts"])
        items.append(
            Item(str(r["pubid"]), "pubmedqa", r["question"], options, answer, context=context)
        )
    return tuple(items)


@cache
def shared_items() -> tuple[Item, ...]:
    """The 200 real rows of ``../shared/data`` (empty where it is absent)."""
    items = [
        i
        for r in _rows(SHARED / "medqa_usmle_test_sample.jsonl")
        if (i := _medqa(r, "medqa-shared"))
    ]
    items += [_medmcqa(r, 1) for r in _rows(SHARED / "medmcqa_dev_sample.jsonl")]
    return tuple(items)


def all_items() -> tuple[Item, ...]:
    return fixture_items() + shared_items()
