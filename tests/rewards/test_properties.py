"""Property test: no reward raises, and every score stays in its range, on arbitrary text."""

from __future__ import annotations

from crpo_cases import OPTIONS, QUESTION
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinr1.rewards import DEFAULT_WEIGHTS, REWARDS, extract_answer, score_completion

PIECES = st.sampled_from(
    [
        "<dx>",
        "</dx>",
        "<conclusion>",
        "</conclusion>",
        "<think>",
        "</think>",
        "<answer>",
        "</answer>",
        "\\boxed{",
        "}",
        "\\boxed{D}",
        "\\boxed{A}",
        "\\boxed{\\text{C}}",
        '"',
        "“",
        "”",
        "Option A",
        "(B)",
        "C)",
        "\nD. ",
        "E:",
        "ruled out",
        "most likely",
        "not ",
        "consistent with",
        "verify",
        "would expect",
        "wait",
        "First, ",
        "Then, ",
        "\n",
        ". ",
        "A JAK 2 assay is positive",
        '"A JAK 2 assay is positive"',
        "Ruxolitinib",
        "μm3",
        "’",
        "\x00",
        "\ud7ff",
        "\ud800",
        "İ",
        "🙂",
    ]
)
STRUCTURED = st.lists(st.one_of(PIECES, st.text(max_size=20)), max_size=60).map("".join)
TEXTS = st.one_of(st.text(max_size=400), STRUCTURED)
OPTION_VALUES = st.one_of(
    st.just(OPTIONS),
    st.dictionaries(st.sampled_from("ABCDEF"), st.one_of(st.none(), st.text(max_size=12))),
    st.lists(st.text(max_size=12), max_size=6),
    st.text(max_size=30),
    st.none(),
)
RANGES = {"accuracy": (0, 1), "format": (0, 1), "faithfulness": (0, 1), "comprehensiveness": (0, 1)}


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    text=TEXTS,
    options=OPTION_VALUES,
    answer=st.one_of(st.sampled_from("ABCDEZ"), st.text(max_size=5), st.none()),
    question=st.one_of(st.just(QUESTION), st.text(max_size=200), st.none()),
    template=st.sampled_from(["crpo", "r1", "plain"]),
)
def test_rewards_never_raise_and_stay_in_range(
    text: str, options: object, answer: object, question: object, template: str
) -> None:
    for name, cls in REWARDS.items():
        scores = cls(template)(
            [text, [{"role": "assistant", "content": text}]],
            answer=[answer] * 2,
            options=[options] * 2,
            question=[question] * 2,
        )
        low, high = RANGES[name]
        assert len(scores) == 2
        assert all(isinstance(s, float) and low <= s <= high for s in scores), (name, scores)
        assert scores[0] == scores[1]  # string and message list read the same
    item = {"question": question, "options": options, "answer": answer}
    result = score_completion(text, item, template)
    assert 0 <= result["total"] <= sum(DEFAULT_WEIGHTS.values())
    assert result["extracted"] is None or isinstance(result["extracted"], str)
    assert extract_answer(text, options, match_text=True) in (None, *"ABCDEF")
