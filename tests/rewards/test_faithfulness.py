"""The faithfulness reward: consistency, case-grounded quotes, cited evidence."""

from __future__ import annotations

import re

import pytest
from crpo_cases import (
    ANALYSIS,
    CHECK,
    CONCLUSION,
    FABRICATED,
    FINDINGS,
    HONEST,
    ITEM,
    QUESTION,
    WRONG_BOX,
    crpo,
)

from clinr1.rewards import Faithfulness, faithfulness, score_completion
from clinr1.rewards.faithfulness import check_quotes


def faith(text: str, **item: object) -> float:
    row = {**ITEM, **item}
    return faithfulness([text], **{k: [v] for k, v in row.items()})[0]


def test_honest_is_full() -> None:
    s = score_completion(HONEST, ITEM)
    assert s["faithfulness"] == 1.0
    assert s["faithfulness/grounded_quotes"] == 5
    assert s["faithfulness/fabricated_quotes"] == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (HONEST, 1.0),  # consistent, grounded, cited
        (WRONG_BOX, 2 / 3),  # the box contradicts the <dx> and the conclusion: C = 0
        (FABRICATED, 1 / 3),  # every quote fabricated: G = 0 and nothing grounded to cite
        # the conclusion cites no finding of the <dx>: K = 0
        (
            crpo(FINDINGS + ANALYSIS + CHECK, "Ruxolitinib (D) is the best choice. \\boxed{D}"),
            2 / 3,
        ),
        # the conclusion names no option outside the box: half of C
        (crpo(FINDINGS + ANALYSIS + CHECK, "A JAK 2 assay is positive. \\boxed{D}"), 5 / 6),
        # one grounded quote of the three that saturate: G = 1/3
        (crpo('"A JAK 2 assay is positive".\n' + ANALYSIS), (1 + 1 / 3 + 1) / 3),
        (crpo(""), 1 / 6),  # empty <dx>: only "the conclusion names the boxed option"
        (HONEST.replace("</dx>", ""), 0.0),  # no structure, no credit
    ],
)
def test_faithfulness(text: str, expected: float) -> None:
    assert faith(text) == pytest.approx(expected)


def test_fabricated_quotes_cost_precision() -> None:
    extra = ' Also "a fabricated finding about the liver" and "another invented sign here".'
    mixed = crpo(FINDINGS.replace("\nFirst", extra + "\nFirst", 1) + ANALYSIS + CHECK)
    s = score_completion(mixed, ITEM)
    assert s["faithfulness/fabricated_quotes"] == 2
    assert s["faithfulness/quote_precision"] == pytest.approx(5 / 7)
    assert s["faithfulness"] < 1.0


@pytest.mark.parametrize(
    ("quotes", "grounded", "fabricated"),
    [
        (("fever for 3 days",), 1, 0),  # verbatim
        (("FEVER, for 3 days!",), 1, 0),  # case and punctuation are normalised
        (("fever   for\t3 days",), 1, 0),  # whitespace too
        (("fever for 4 days",), 0, 1),  # a changed number is fabricated
        (("fever",), 0, 0),  # under 3 words: ignored
        (("for the and",), 0, 0),  # stopwords only: ignored
        (("What is the diagnosis",), 0, 0),  # the lead-in question is not a finding
        (("Streptococcus pneumoniae infection",), 0, 0),  # an option's text: neutral
        (("fever for 3 days", "fever for 3 days"), 1, 0),  # repeated: counted once
        (("fever for 3 days", "for 3 days"), 1, 0),  # inside another quote: counted once
    ],
)
def test_check_quotes(quotes: tuple[str, ...], grounded: int, fabricated: int) -> None:
    question = (
        "A boy has had fever for 3 days, a cough and pain on the right side when he breathes. "
        "His temperature is 39 C. Crackles are heard over the right lower lobe and dullness "
        "to percussion is present. What is the diagnosis?"
    )
    options = (("A", "Streptococcus pneumoniae infection"), ("B", "Asthma"))
    q = check_quotes(quotes, question, "", options)
    assert (len(q.grounded), len(q.fabricated)) == (grounded, fabricated)


def test_stem_copy_earns_nothing() -> None:
    whole = check_quotes((QUESTION,), QUESTION, "", ())
    assert whole.grounded == () and whole.fabricated == ()  # the whole stem: neutral
    pieces = re.split(r"\. |\n", QUESTION)
    sentences = tuple(s for s in pieces if len(s.split()) >= 3)
    chunks = check_quotes(sentences, QUESTION, "", ())
    assert chunks.stem_copy  # the stem quoted in pieces
    text = crpo(" ".join(f'"{s}"' for s in sentences) + "\n" + ANALYSIS + CHECK, CONCLUSION)
    s = score_completion(text, ITEM)
    assert s["faithfulness/grounding"] == 0.0 and s["faithfulness/citation"] == 0.0


def test_context_counts_as_case() -> None:
    text = crpo('"the biopsy showed granulomas" and more.\n' + ANALYSIS)
    with_context = faith(text, context="Context: the biopsy showed granulomas.")
    assert with_context > faith(text)


def test_question_from_prompt_when_no_column() -> None:
    prompt = [{"role": "user", "content": QUESTION}]
    got = Faithfulness()([HONEST], answer=["D"], options=[ITEM["options"]], prompts=[prompt])
    assert got == [1.0]


def test_long_text_is_scaled_down() -> None:
    padding = "\nThe time course matters more than any single value here." * 230
    long = crpo(FINDINGS + ANALYSIS + CHECK + padding)
    assert 12_000 < len(long) < 18_000
    assert 0 < faith(long) < 1.0


@pytest.mark.parametrize(
    "params",
    [{"saturation": 0}, {"min_quote_words": 0}, {"max_quote_fraction": 0}, {"template": "xml"}],
)
def test_bad_params(params: dict) -> None:
    with pytest.raises(ValueError, match="faithfulness"):
        Faithfulness(**params)


def test_params_change_the_score() -> None:
    one_quote = crpo('"A JAK 2 assay is positive".\n' + ANALYSIS)
    lenient = Faithfulness(saturation=1)
    assert lenient([one_quote], **{k: [v] for k, v in ITEM.items()}) == [1.0]


def test_a_conclusion_picking_what_the_reasoning_ruled_out_is_not_consistent() -> None:
    # what SmolLM2 learnt under CRPO on the real learning check: every option "not the answer",
    # then a check "confirms" the first one and the box picks it
    from clinr1.rewards import score_completion

    item = {
        "question": "A 72-year-old man has fatigue and night sweats for 2 months. The spleen is "
        "palpated 6 cm below the left costal margin. A JAK 2 assay is positive. Which is the "
        "most appropriate next step in management?",
        "options": {"A": "Cladribine", "B": "Prednisone", "C": "Ruxolitinib"},
        "answer": "C",
    }
    dx = "\n".join(
        f"- **{k}. {v}**: its triggers and risk factors are absent, so it is not the answer."
        for k, v in item["options"].items()
    )
    text = (
        f'<dx>\n{dx}\nA final check confirms that option A matches "fatigue and night sweats".'
        '\n</dx>\n<conclusion>\nGiven "fatigue and night sweats", the answer is Cladribine (A). '
        "\\boxed{A}\n</conclusion>"
    )
    assert score_completion(text, item)["faithfulness/consistency"] == 0.0


KEY_FINDINGS = (
    'Key findings: "The spleen is palpated 6 cm below the left costal margin", '
    '"A JAK 2 assay is positive", "Bone marrow aspiration shows extensive fibrosis".\n'
)
BARE_CONCLUSION = 'Given "A JAK 2 assay is positive", the answer is Ruxolitinib (D). \\boxed{D}'


def test_a_dx_that_only_asserts_its_answer_is_not_consistent() -> None:
    # what the run-7 CRPO arm learned: findings listed, the answer asserted, nothing weighed
    dx = KEY_FINDINGS + "Working backwards from the answer, option D fits the bill."
    s = score_completion(crpo(dx, BARE_CONCLUSION), ITEM)
    assert s["faithfulness/dx_favoured"] == "D"
    assert s["faithfulness/consistency"] == 0.5  # the conclusion agrees; the <dx> only asserts


@pytest.mark.parametrize(
    "why",
    [
        # a sentence about D that cites a finding of the case
        "Option D fits the bill, as the extensive fibrosis and the positive JAK 2 assay show.",
        # a reason of its own
        "Option D fits the bill: a JAK1/2 inhibitor that shrinks the spleen and eases symptoms.",
        # another option weighed
        "Option D fits the bill. Option C is for a BCR-ABL disease; ruled out.",
    ],
)
def test_a_dx_that_favours_its_answer_for_a_reason_is_consistent(why: str) -> None:
    s = score_completion(crpo(KEY_FINDINGS + why, BARE_CONCLUSION), ITEM)
    assert s["faithfulness/dx_favoured"] == "D"
    assert s["faithfulness/consistency"] == 1.0
