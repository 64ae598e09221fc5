"""Real answers from SmolLM2-135M-Instruct (base, after the cold start, after GRPO and CRPO),
read by the rewards and by a careful reader.

``fixtures/smollm2_completions.jsonl`` holds seventeen completions that
``benchmarks/real_learning_check.py`` generated on held-out MedQA and MedMCQA items, each with
what a careful reader finds in it (``reader``): the box, how many quotes state a finding of the
case, how many are invented, which option the <dx> favours, whether the conclusion agrees, how
many distractors are ruled out with a reason of their own, and the range a reader would give
faithfulness and comprehensiveness. The note on each says why.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clinr1.rewards import score_completion

FIXTURE = Path(__file__).parent / "fixtures" / "smollm2_completions.jsonl"
ROWS = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['arm']}-{r['item']['id'][:12]}" for r in ROWS])
def test_the_rewards_read_real_answers_as_a_careful_reader_does(row: dict) -> None:
    reader = row["reader"]
    s = score_completion(row["completion"], row["item"])
    assert s["boxed"] == reader["boxed"]
    assert s["faithfulness/grounded_quotes"] == reader["grounded"], reader["note"]
    assert s["faithfulness/fabricated_quotes"] == reader["fabricated"], reader["note"]
    if reader["favoured"] != "any":
        assert s["faithfulness/dx_favoured"] == reader["favoured"], reader["note"]
    assert s["faithfulness/consistency"] == reader["consistency"], reader["note"]
    assert s["counts/options_ruled_out"] <= reader["rule_outs"], reader["note"]
    for objective in ("faithfulness", "comprehensiveness"):
        lo, hi = reader[objective]
        assert lo - 1e-9 <= s[objective] <= hi + 1e-9, (objective, s[objective], reader["note"])


def test_the_fixture_covers_every_arm() -> None:
    assert {r["arm"] for r in ROWS} == {"base", "sft", "grpo", "crpo"}
    assert len(ROWS) >= 12
