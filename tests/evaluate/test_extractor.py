r"""The evaluation extractor on completions written in many styles (issue 5, item 6).

Every case is ``(completion, expected letter or None, why)``; evaluation reads answers with
``extract_answer(text, options, match_text=True)``, the call ``clinr1 eval`` makes. The test
passes when at least 98 % are right and prints the failures either way (``pytest -rA``).
"""

from __future__ import annotations

import pytest

from clinr1.rewards import extract_answer

OPTIONS = {
    "A": "Cladribine",
    "B": "Imatinib",
    "C": "Ruxolitinib",
    "D": "Hydroxyurea",
    "E": "Observation only",
}

CASES: list[tuple[str, str | None, str]] = [
    # --- boxed --------------------------------------------------------------------------------
    (r"<dx>...</dx><conclusion>So \boxed{C}</conclusion>", "C", "template answer"),
    (r"\boxed{C}", "C", "bare box"),
    (r"The answer: \boxed{(C)}", "C", "box with parentheses"),
    (r"\boxed{C.}", "C", "box with a full stop"),
    (r"\boxed{\text{C}}", "C", "box with \\text"),
    (r"\boxed{\textbf{C}}", "C", "box with \\textbf"),
    (r"\boxed{C. Ruxolitinib}", "C", "box with letter and text"),
    (r"\boxed{ C }", "C", "box with spaces"),
    (r"\boxed{c}", "C", "lower-case letter alone in a box"),
    (r"First I thought \boxed{A} but no: \boxed{C}", "C", "last box wins"),
    (r"\boxed{Ruxolitinib}", "C", "option text in a box"),
    (r"\boxed{ruxolitinib}", "C", "option text in a box, lower case"),
    (r"$\boxed{D}$", "D", "box in math mode"),
    (r"Final: $$\boxed{E}$$", "E", "box in display math"),
    (r"\boxed{Option B}", "B", "'Option B' in a box"),
    # --- bold, Answer:, Final answer ----------------------------------------------------------
    ("**Answer: C**", "C", "bold answer line"),
    ("Answer: (C)", "C", "Answer: (C)"),
    ("Answer: C", "C", "Answer: C"),
    ("ANSWER: C", "C", "upper-case ANSWER:"),
    ("Answer - C", "C", "Answer with a dash"),
    ("**Final answer:** C", "C", "bold final answer label"),
    ("Final answer: (B)", "B", "Final answer: (B)"),
    ("Final Answer: B. Imatinib", "B", "final answer with option text"),
    ("final answer is D", "D", "final answer is"),
    ("My final answer is **E**.", "E", "final answer in bold"),
    ("Final answer: Hydroxyurea", "D", "final answer by option text"),
    ("Final answer:\nC", "C", "letter on the next line"),
    # --- 'the answer is' ----------------------------------------------------------------------
    ("the answer is c.", "C", "lower-case letter with a stop"),
    ("The answer is C.", "C", "plain sentence"),
    ("The answer is (C).", "C", "parenthesised letter"),
    ("The answer is **C**", "C", "bold letter"),
    ("The correct answer is C: Ruxolitinib.", "C", "correct answer with text"),
    ("The best answer is option D.", "D", "best answer is option D"),
    ("So the answer is Ruxolitinib.", "C", "answer is by option text"),
    ("Therefore, the answer would be B.", "B", "answer would be"),
    ("Hence the right answer is A.", "A", "right answer is"),
    ("The answer is: E", "E", "answer is with a colon"),
    # --- answer tags --------------------------------------------------------------------------
    ("<think>hmm</think><answer>C</answer>", "C", "r1 answer tag"),
    ("<think>x</think><answer>(B) Imatinib</answer>", "B", "r1 tag with text"),
    ("<think>x</think><answer>Hydroxyurea</answer>", "D", "r1 tag, text only"),
    (r"<think>x</think><answer>Thus \boxed{A}</answer>", "A", "r1 tag with box"),
    # --- a letter in the reasoning, another at the end ----------------------------------------
    ("Option A looks tempting. After review, the answer is C.", "C", "earlier mention ignored"),
    (r"I considered (B) first... \boxed{D}", "D", "reasoning letter vs box"),
    ("A) is wrong, B) is wrong. Final answer: E", "E", "listed options then final"),
    ("The answer is A. Wait, no. The answer is D.", "D", "self-correction, last wins"),
    ("Final answer: B\n\nActually re-checking, the answer is B.", "B", "two agreeing statements"),
    (r"<dx>Option C fits.</dx><conclusion>\boxed{C}</conclusion> answer is A", "C", "box first"),
    # --- option text only ---------------------------------------------------------------------
    (r"\boxed{Observation only}", "E", "multi-word option text in a box"),
    ("Final answer: Observation only.", "E", "multi-word text after final answer"),
    # --- none at all --------------------------------------------------------------------------
    ("", None, "empty"),
    ("I am not sure.", None, "no answer"),
    ("<dx>The patient has myelofibrosis.</dx>", None, "reasoning only"),
    (r"\boxed{}", None, "empty box"),
    (r"\boxed{F}", None, "letter outside the options"),
    (r"\boxed{A, C}", None, "two letters in a box"),
    ("Option A is ruled out and Option B is unlikely.", None, "letters in reasoning only"),
    ("The answer is unclear.", None, "answer is unclear"),
    ("Final answer: none of the above", None, "not an option"),
    ("A 45-year-old man presents with fatigue.", None, "article 'A' at the start"),
    (r"\boxed{Methotrexate}", None, "text that is no option"),
    ("The answer is a difficult one.", None, "indefinite article after 'answer is'"),
]


def _results() -> list[tuple[str, str | None, str | None, str]]:
    return [
        (text, expected, extract_answer(text, OPTIONS, match_text=True), why)
        for text, expected, why in CASES
    ]


def test_case_set_is_large_and_varied() -> None:
    assert len(CASES) >= 60
    assert sum(expected is None for _, expected, _ in CASES) >= 10


def test_extractor_accuracy_at_least_98_percent() -> None:
    results = _results()
    failures = [r for r in results if r[1] != r[2]]
    report = "\n".join(
        f"  {why}: {text!r} -> {got!r}, expected {expected!r}"
        for text, expected, got, why in failures
    )
    print(f"extractor: {len(results) - len(failures)}/{len(results)} right\n{report}")
    assert (len(results) - len(failures)) / len(results) >= 0.98, f"failures:\n{report}"


@pytest.mark.parametrize(("text", "expected", "why"), CASES, ids=[c[2] for c in CASES])
def test_extractor_never_raises(text: str, expected: str | None, why: str) -> None:
    got = extract_answer(text, OPTIONS, match_text=True)
    assert got is None or got in OPTIONS
