"""A completion read against an item: per-option blocks, verdicts, the favoured option, the
conclusion, negative stems. Each case is one of the misreadings the v2 rewards fixed."""

from __future__ import annotations

import pytest
from crpo_cases import HONEST, ITEM, OPTIONS, crpo

from clinr1.rewards import score_completion
from clinr1.rewards.cues import is_negative_stem
from clinr1.rewards.reading import read

ANSWER = (
    "Given the positive JAK 2 assay with extensive fibrosis, the answer is ruxolitinib (D). "
    "\\boxed{D}"
)


def verdicts(text: str, options: dict | None = None, negative: bool = False) -> dict[str, str]:
    r = read(text, options or OPTIONS, negative=negative)
    return {k: a.verdict for k, a in r.assessments.items()}


def test_honest_reading() -> None:
    r = read(HONEST, OPTIONS)
    assert (r.boxed, r.dx_favoured) == ("D", "D")
    assert verdicts(HONEST) == {"A": "out", "B": "out", "C": "out", "D": "in", "E": "out"}
    assert not any(a.contradicted for a in r.assessments.values())
    assert r.conclusion_named == {"D"} and not r.conclusion_hedged and not r.hedge_phrase


REASONS = {
    "A": "a purine analogue for hairy cell leukemia, which would show TRAP-positive cells",
    "B": "steroids may help autoimmune cytopenias but do not treat the marrow neoplasm",
    "C": "a BCR-ABL inhibitor for chronic myeloid leukemia, not a JAK2-driven disease",
    "D": "a JAK1/2 inhibitor that shrinks the spleen and relieves the symptoms",
    "E": "curative in principle, but at 72 with a prior infarction he is a poor candidate",
}
# a <dx> that favours D for a reason of its own (a bare "most appropriate" is no reasoning)
FAVOURS_D = f"Option D: {REASONS['D']}; most appropriate."
VERDICT = {k: "most appropriate" if k == "D" else "ruled out" for k in OPTIONS}
FORMATS = {
    "Option A (x): ...; v.": lambda k, v: f"Option {k} ({v}): {REASONS[k]}; {VERDICT[k]}.",
    "A. x: ... V.": lambda k, v: f"{k}. {v}: {REASONS[k]}. {VERDICT[k].capitalize()}.",
    "A) x - ...": lambda k, v: f"{k}) {v} - {REASONS[k]}; {VERDICT[k]}.",
    "(A) x: ...": lambda k, v: f"({k}) {v}: {REASONS[k]}; {VERDICT[k]}.",
    "- **A. x**: ...": lambda k, v: f"- **{k}. {v}**: {REASONS[k]} — {VERDICT[k]}.",
    "### Option A": lambda k, v: f"### Option {k}: {v}\n{REASONS[k]}.\nVerdict: {VERDICT[k]}.",
    "- A: ...": lambda k, v: f"- {k}: {v}, {REASONS[k]}; {VERDICT[k]}.",
    "table": lambda k, v: f"| {k} | {v} | {REASONS[k]} | {VERDICT[k]} |",
    "text alone": lambda k, v: f"{v} is {REASONS[k]}. It is {VERDICT[k]}.",
}


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_gives_the_same_blocks(name: str) -> None:
    lines = "\n".join(FORMATS[name](k, v) for k, v in OPTIONS.items())
    if name == "table":
        lines = "| Option | Drug | Why | Verdict |\n|---|---|---|---|\n" + lines
    text = crpo(lines, ANSWER)
    assert verdicts(text) == {"A": "out", "B": "out", "C": "out", "D": "in", "E": "out"}
    s = score_completion(text, ITEM)
    assert s["comprehensiveness/distractor_coverage"] == 1.0
    assert s["faithfulness/consistency"] == 1.0


def test_a_closing_check_does_not_join_the_previous_block() -> None:
    dx = (
        "Option E (Stem cell transplantation): curative, but he is 72 with a prior infarction; "
        "ruled out.\nChecking everything against the case once more, the JAK 2 result confirms "
        "that ruxolitinib is the most appropriate choice."
    )
    r = read(crpo(dx, ANSWER), OPTIONS)
    assert r.assessments["E"].verdict == "out"
    assert r.assessments["D"].verdict == "in"


def test_a_mention_in_passing_does_not_move_the_block() -> None:
    dx = (
        "Option A (Cladribine): it treats hairy cell leukemia, a different disease from the one "
        "ruxolitinib targets.\nRuled out."
    )
    assert verdicts(crpo(dx, ANSWER))["A"] == "out"


def test_a_verdict_in_its_own_sentence_and_repeated_per_block() -> None:
    dx = "\n".join(f"Option {k}: {REASONS[k]}.\nRuled out." for k in "ABCE")
    dx += f"\nOption D: {REASONS['D']}.\nMost appropriate."
    assert verdicts(crpo(dx, ANSWER)) == {"A": "out", "B": "out", "C": "out", "E": "out", "D": "in"}


@pytest.mark.parametrize(
    "conclusion",
    [
        "The answer is D. \\boxed{D}",
        "Answer: D \\boxed{D}",
        "Final answer: (D) \\boxed{D}",
        "So ruxolitinib it is. \\boxed{D}",
        "**Option D** \\boxed{D}",
    ],
)
def test_the_conclusion_names_the_answer_in_any_extractor_form(conclusion: str) -> None:
    r = read(crpo("Option D: JAK inhibitor; most appropriate.", conclusion), OPTIONS)
    assert "D" in r.conclusion_named


@pytest.mark.parametrize(
    "conclusion",
    [
        "Ruxolitinib (D), not cladribine (A), though option C is equally plausible. \\boxed{D}",
        "Either D or E would do here. \\boxed{D}",
        "D is best; E is also possible. \\boxed{D}",
        "D, or possibly C. \\boxed{D}",
    ],
)
def test_hedges_cost_wherever_the_contrast_word_sits(conclusion: str) -> None:
    s = score_completion(crpo(FAVOURS_D, conclusion), ITEM)
    assert s["faithfulness/consistency"] == 0.5  # the <dx> favours D, the conclusion hedges


@pytest.mark.parametrize(
    "conclusion",
    [
        "Ruxolitinib (D) rather than imatinib (C). \\boxed{D}",
        "D; imatinib (C) targets BCR-ABL, which is not this disease. \\boxed{D}",
        "Unlike option E, option D suits a 72-year-old. \\boxed{D}",
    ],
)
def test_options_set_aside_in_the_conclusion_are_no_hedge(conclusion: str) -> None:
    s = score_completion(crpo(FAVOURS_D, conclusion), ITEM)
    assert s["faithfulness/consistency"] == 1.0


def test_a_self_contradicting_block_is_not_consistent() -> None:
    dx = "\n".join(f"Option {k}: {REASONS[k]}; ruled out." for k in OPTIONS)
    dx += "\nSo ruxolitinib (D) is the most appropriate."
    r = read(crpo(dx, ANSWER), OPTIONS)
    assert r.assessments["D"].contradicted
    s = score_completion(crpo(dx, ANSWER), ITEM)
    assert s["faithfulness/consistency"] == 0.5
    assert s["comprehensiveness/distractor_coverage"] == 0.0


def test_a_revision_with_a_backtracking_cue_is_no_contradiction() -> None:
    dx = (
        f"Option E: {REASONS['E']}; most appropriate.\nWait, on second thought his age rules "
        "it out.\nOption D: JAK inhibitor; most appropriate."
    )
    r = read(crpo(dx, ANSWER), OPTIONS)
    assert r.assessments["E"].verdict == "out" and not r.assessments["E"].contradicted


def _soft(k: str) -> str:
    return f"Option {k}: {REASONS[k]}; less likely."


def test_an_option_set_aside_softly_then_picked_is_contradicted() -> None:
    # what the run-6 CRPO arm learned: "less likely" under every option, then one picked
    dx = "\n".join(_soft(k) for k in OPTIONS)
    dx += "\nWorking backwards from option D, one would expect the fibrosis."
    dx += "\nChecking the answer again: option D fits the splenomegaly as well."
    r = read(crpo(dx, ANSWER), OPTIONS)
    assert r.dx_favoured == "D" and r.assessments["D"].contradicted
    assert score_completion(crpo(dx, ANSWER), ITEM)["faithfulness/consistency"] == 0.5


@pytest.mark.parametrize(
    "dx",
    [
        # a block that weighs both ways says one verdict, by its last word
        "Option D: glucose is not needed first and it does not cure; most appropriate.",
        # a soft doubt, then a revision that names the option
        f"{_soft('D')}\nOn reflection, option D fits the fibrosis best.",
        # a revision with no option named, right before the option is taken up
        f"{_soft('D')}\n{_soft('E')}\nWait.\nOption D fits the fibrosis best.",
        # "less likely to" is about an effect, not a verdict
        "Option D: a JAK inhibitor, less likely to worsen the anaemia.\nMost appropriate.",
        # a soft verdict on another option, with D named only as the contrast
        "Option C is less likely than D.\nOption D: JAK inhibitor; most appropriate.",
    ],
)
def test_honest_doubts_are_no_contradiction(dx: str) -> None:
    r = read(crpo(dx, ANSWER), OPTIONS)
    assert r.dx_favoured == "D" and not r.assessments["D"].contradicted


def test_a_revision_about_another_option_does_not_excuse_this_one() -> None:
    dx = f"{_soft('D')}\nOption E: wait, on second thought, ruled out.\nOption D fits best."
    assert read(crpo(dx, ANSWER), OPTIONS).assessments["D"].contradicted


NEGATIVE = {
    "question": "All of the following are features of hereditary spherocytosis EXCEPT:",
    "options": {"A": "Splenomegaly", "B": "Spherocytes", "C": "Target cells", "D": "Anaemia"},
    "answer": "C",
}


def test_negative_stems_choose_the_exception() -> None:
    assert is_negative_stem(NEGATIVE["question"])
    dx = (
        "A. Splenomegaly: extravascular haemolysis in the spleen enlarges it; a typical feature.\n"
        "B. Spherocytes: the membrane defect makes them; this is characteristic.\n"
        "C. Target cells: seen in thalassaemia and liver disease, not in this disorder; this is "
        "the exception.\n"
        "D. Anaemia: haemolysis lowers the haemoglobin; consistent with the disease."
    )
    text = crpo(dx, "Target cells (C) are the exception. \\boxed{C}")
    s = score_completion(text, NEGATIVE)
    assert s["faithfulness/negative_stem"]
    assert s["faithfulness/dx_favoured"] == "C"
    assert s["faithfulness/consistency"] == 1.0
    assert s["comprehensiveness/distractor_coverage"] == 1.0


@pytest.mark.parametrize(
    ("question", "negative"),
    [
        ("Which of the following is NOT a cause of anaemia?", True),
        ("Which drug is not used in CPR?", True),
        ("Which statement is false regarding X?", True),
        ("The least likely diagnosis is:", True),
        ("All are true except:", True),
        ("He does not smoke. Which of the following is the most likely diagnosis?", False),
        ("Although simple and rapid, it is not used frequently because:", False),
        ("Which of the following is the drug of choice?", False),
    ],
)
def test_is_negative_stem(question: str, negative: bool) -> None:
    assert is_negative_stem(question) is negative


@pytest.mark.parametrize(
    "lines",
    [
        # tick and cross marks as verdicts
        [f"- {'✅' if k == 'D' else '❌'} **{k}. {v}**: {REASONS[k]}" for k, v in OPTIONS.items()],
        # "Eliminate A because ...", then the one left
        [f"Eliminate {k} because {REASONS[k]}." for k in "ABCE"] + ["That leaves D, the answer."],
        # a plausible option turned down, and "not needed"
        [
            f"Option {k} ({v}): {REASONS[k]}; plausible at first, but not needed here."
            if k != "D"
            else f"Option D ({v}): {REASONS['D']}; the correct answer."
            for k, v in OPTIONS.items()
        ],
    ],
    ids=["tick-marks", "eliminate", "not-needed"],
)
def test_chat_model_verdict_styles(lines: list[str]) -> None:
    text = crpo("\n".join(lines), ANSWER)
    assert verdicts(text) == {"A": "out", "B": "out", "C": "out", "D": "in", "E": "out"}


@pytest.mark.parametrize(
    ("verdict_in", "verdict_out"),
    [("✅ Correct", "❌ Incorrect"), ("Correct answer", "Incorrect answer"),
     ("Right choice", "Wrong choice")],
)  # fmt: skip
def test_answer_sense_verdicts_on_negative_stems(verdict_in: str, verdict_out: str) -> None:
    """On an EXCEPT question, "✅ Correct" on the exception means "the answer", not "true"."""
    why = {
        "A": "extravascular haemolysis enlarges the spleen",
        "B": "the membrane defect makes the cells round",
        "C": "seen in thalassaemia and liver disease, not this membrane disorder",
        "D": "haemolysis lowers the haemoglobin level",
    }
    lines = [
        f"{k}. {v}: {why[k]}. {verdict_in if k == 'C' else verdict_out}."
        for k, v in NEGATIVE["options"].items()
    ]
    s = score_completion(crpo("\n".join(lines), "C. \\boxed{C}"), NEGATIVE)
    assert s["faithfulness/dx_favoured"] == "C"
    assert s["comprehensiveness/distractor_coverage"] == 1.0


@pytest.mark.parametrize(
    "conclusion",
    [
        "D. Ruxolitinib. Imatinib is for CML, not myelofibrosis. \\boxed{D}",
        "Ruxolitinib (D); prednisone and imatinib have no role here. \\boxed{D}",
        "Ruxolitinib (D). Stem cell transplantation is curative but too risky at 72. \\boxed{D}",
    ],
)
def test_explaining_why_another_option_is_wrong_is_no_hedge(conclusion: str) -> None:
    s = score_completion(crpo(FAVOURS_D, conclusion), ITEM)
    assert s["faithfulness/consistency"] == 1.0


GROUPED = (
    "**Most appropriate: D. Ruxolitinib**: " + REASONS["D"] + ".\n"
    "**Why the other options are wrong:**\n"
    + "\n".join(f"- {k}. {v}: {REASONS[k]}." for k, v in OPTIONS.items() if k != "D")
)


def test_a_verdict_header_gives_its_verdict_to_every_option_listed_under_it() -> None:
    text = crpo(GROUPED, ANSWER)
    r = read(text, OPTIONS)
    assert verdicts(text) == {"A": "out", "B": "out", "C": "out", "D": "in", "E": "out"}
    assert not r.assessments["D"].contradicted  # the header is not the answer's block
    inline = "\n".join(FORMATS["- **A. x**: ..."](k, v) for k, v in OPTIONS.items())
    grouped, listed = score_completion(text, ITEM), score_completion(crpo(inline, ANSWER), ITEM)
    for key in ("faithfulness", "comprehensiveness", "comprehensiveness/distractor_coverage"):
        assert grouped[key] == listed[key], key


def test_the_list_ends_at_a_sentence_that_is_no_list_item() -> None:
    # the answer named again after the list keeps its own verdict, not the header's
    text = crpo(GROUPED + "\nOption D therefore remains consistent with the marrow.", ANSWER)
    r = read(text, OPTIONS)
    assert r.assessments["D"].verdict == "in" and not r.assessments["D"].contradicted


@pytest.mark.parametrize("header", ["**Other options:**", "Key findings:", "Now the others:"])
def test_a_header_without_a_verdict_adds_none(header: str) -> None:
    listed = "\n".join(f"- {k}. {v}: {REASONS[k]}." for k, v in OPTIONS.items())
    own = verdicts(crpo(listed, ANSWER))  # the cues in the reasons themselves
    assert verdicts(crpo(f"{header}\n{listed}", ANSWER)) == own
    assert list(own.values()).count("out") < 4  # so a carried rule-out would show


ANAEMIA_ITEM = {
    "question": "A 34-year-old woman has fatigue for 2 months. Her hemoglobin is 8.2 g/dL and MCV "
    "is 68 fL. Serum ferritin is 6 ng/mL. She has heavy menstrual periods. Which of the "
    "following is the most likely diagnosis?",
    "options": {
        "A": "Iron deficiency anemia",
        "B": "Beta thalassemia minor",
        "C": "Anemia of chronic disease",
        "D": "Vitamin B12 deficiency",
        "E": "Sideroblastic anemia",
    },
    "answer": "A",
}
ANAEMIA_DX = (
    'Key findings: "MCV is 68 fL", "Serum ferritin is 6 ng/mL", "heavy menstrual periods".\n'
    "- A. Iron deficiency anemia: microcytosis with an empty iron store after blood loss; "
    "most likely.\n"
    "- B. Beta thalassemia minor: ferritin would be low only in iron deficiency, so it is "
    "unlikely.\n"
    "- C. Anemia of chronic disease: ferritin is normal or high; ruled out.\n"
    "- D. Vitamin B12 deficiency: it gives a macrocytic anemia; ruled out.\n"
    "- E. Sideroblastic anemia: iron overload, unlike this ferritin; ruled out.\n"
)


def test_another_option_named_after_a_preposition_takes_no_verdict() -> None:
    r = read(crpo(ANAEMIA_DX, "\\boxed{A}"), ANAEMIA_ITEM["options"])
    assert r.assessments["B"].verdict == "out"  # "unlikely" is about B, not "iron deficiency"
    assert r.assessments["A"].verdict == "in" and not r.assessments["A"].contradicted


@pytest.mark.parametrize(
    "conclusion",
    [
        'Given "Serum ferritin is 6 ng/mL", the answer is iron deficiency anemia.',
        'Given "Serum ferritin is 6 ng/mL", the answer is iron deficiency.',  # a short form
        'Given "Serum ferritin is 6 ng/mL", this is iron deficiency anaemia.',  # British
    ],
)
def test_the_conclusion_may_name_the_answer_by_a_short_form(conclusion: str) -> None:
    check = 'To verify, "Serum ferritin is 6 ng/mL" confirms iron deficiency.\n'
    s = score_completion(crpo(ANAEMIA_DX + check, conclusion + " \\boxed{A}"), ANAEMIA_ITEM)
    assert s["faithfulness/consistency"] == 1.0
    assert s["comprehensiveness/verification"] == 1.0  # the check names the answer too


LISTED = "\n".join(f"- {k}. {v}: {REASONS[k]}." for k, v in OPTIONS.items() if k != "D")
ANSWER_LINE = "**Most appropriate: D. Ruxolitinib**: " + REASONS["D"] + ".\n"


@pytest.mark.parametrize(
    "header",
    [
        "### Why the other options are wrong",  # a markdown heading needs no colon
        "**Why not the other options?**",
        "### Incorrect options",
        "Distractors:",
        "Ruled out:",
    ],
)
def test_verdict_headers_in_any_common_shape(header: str) -> None:
    text = crpo(ANSWER_LINE + header + "\n" + LISTED, ANSWER)
    assert verdicts(text) == {"A": "out", "B": "out", "C": "out", "D": "in", "E": "out"}
    assert not read(text, OPTIONS).assessments["D"].contradicted


@pytest.mark.parametrize(
    "header",
    [
        "To determine the most appropriate next step, let's evaluate each option:",
        "**Step 3: Eliminate the incorrect options:**",
        "Let's go through the options to find the correct answer:",
    ],
)
def test_a_header_that_states_a_goal_gives_no_verdict(header: str) -> None:
    # each option's own verdict stands; the goal's words rule nothing in or out
    lines = "\n".join(FORMATS["- **A. x**: ..."](k, v) for k, v in OPTIONS.items())
    plain = score_completion(crpo(lines, ANSWER), ITEM)
    headed = score_completion(crpo(f"{header}\n{lines}", ANSWER), ITEM)
    assert verdicts(crpo(f"{header}\n{lines}", ANSWER)) == verdicts(crpo(lines, ANSWER))
    for key in ("faithfulness", "comprehensiveness"):
        assert headed[key] == plain[key], key


def test_a_listed_option_with_its_own_strong_verdict_keeps_it() -> None:
    listed = LISTED.replace(REASONS["B"] + ".", REASONS["B"] + "; on reflection most appropriate.")
    r = read(crpo("Ruled out:\n" + listed, ANSWER), OPTIONS)
    assert r.assessments["B"].verdict == "in" and r.assessments["A"].verdict == "out"


@pytest.mark.parametrize(
    ("sentence", "verdict"),
    [
        ("Switching to imatinib would be wrong.", "out"),  # no comma: imatinib is the subject
        ("A diagnosis of imatinib toxicity is unlikely.", "out"),
    ],
)
def test_a_preposition_sets_a_mention_aside_only_across_a_comma(sentence: str, verdict: str):
    # (across a comma: test_another_option_named_after_a_preposition_takes_no_verdict)
    dx = f"Option D (Ruxolitinib): {REASONS['D']}; most appropriate. {sentence}"
    r = read(crpo(dx, ANSWER), OPTIONS)
    assert r.assessments["D"].verdict == "in" and not r.assessments["D"].contradicted
    assert r.assessments.get("C") is None or r.assessments["C"].verdict == verdict


@pytest.mark.parametrize(
    "closing",
    [
        "Overall, the findings are most consistent with option D.",
        "So the best answer is D.",  # a bare letter after "answer is"
        "So the most appropriate choice is to start with ruxolitinib.",  # six words on
    ],
)
def test_a_summary_after_the_last_block_names_the_answer(closing: str) -> None:
    lines = "\n".join(FORMATS["A. x: ... V."](k, v) for k, v in OPTIONS.items())
    r = read(crpo(f"{lines}\n{closing}", ANSWER), OPTIONS)
    assert r.assessments["E"].verdict == "out" and not r.assessments["E"].contradicted
    assert r.assessments["D"].verdict == "in"


def test_a_header_naming_each_option_on_the_next_line_opens_its_block() -> None:
    # "each option:" then "A. ..." on the next line: A's block opens on its own line
    lines = "\n".join(FORMATS["A. x: ... V."](k, v) for k, v in OPTIONS.items())
    text = crpo("Now each option:\n" + lines, ANSWER)
    assert verdicts(text) == {"A": "out", "B": "out", "C": "out", "D": "in", "E": "out"}
