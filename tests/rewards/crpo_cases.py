"""A real MedQA item (medqa_usmle_test_sample row 11) and completions written for it."""

from __future__ import annotations

QUESTION = (
    "A 72-year-old man comes to the physician because of a 2-month history of fatigue and "
    "worsening abdominal pain. During this period, he also has excessive night sweats and "
    "shortness of breath on exertion. Over the past 3 months, he has had a 5.6-kg (12-lb) weight "
    "loss. He had a myocardial infarction 3 years ago. He has hypertension, diabetes mellitus, "
    "and chronic bronchitis. His medications include insulin, aspirin, lisinopril, and an "
    "albuterol inhaler. He has smoked half a pack of cigarettes for the past 45 years. Vital signs "
    "are within normal limits. The spleen is palpated 6 cm below the left costal margin. "
    "Laboratory studies show:\nHemoglobin 6.4 g/dL\nMean corpuscular volume 85 μm3\nLeukocyte "
    "count 5,200/mm3\nPlatelet count 96,000/mm3\nA blood smear is shown. Bone marrow aspiration "
    "shows extensive fibrosis and a few scattered plasma cells. A JAK 2 assay is positive. Which "
    "of the following is the most appropriate next step in management?"
)
OPTIONS = {
    "A": "Cladribine",
    "B": "Prednisone",
    "C": "Imatinib",
    "D": "Ruxolitinib",
    "E": "Stem cell transplantation",
}
ITEM = {"id": "medqa-11", "question": QUESTION, "options": OPTIONS, "answer": "D"}

FINDINGS = (
    'Key findings: "The spleen is palpated 6 cm below the left costal margin", '
    '"Bone marrow aspiration shows extensive fibrosis", "A JAK 2 assay is positive" and '
    '"Hemoglobin 6.4 g/dL" with "Platelet count 96,000/mm3".\n'
    "First, these findings point to primary myelofibrosis, a JAK2-driven myeloproliferative "
    "neoplasm with marrow fibrosis and massive splenomegaly.\n"
    "At first sight option E, the only cure, seems the most appropriate.\n"
    "Then I assess each option against them.\n"
)
ANALYSIS = (
    "Option A (Cladribine): a purine analogue used for hairy cell leukemia, which would show "
    "TRAP-positive cells rather than a JAK2 mutation; ruled out.\n"
    "Option B (Prednisone): steroids may help autoimmune cytopenias but do not treat the "
    "underlying myeloproliferative neoplasm; ruled out.\n"
    "Option C (Imatinib): a BCR-ABL inhibitor for chronic myeloid leukemia, and this case has a "
    "positive JAK 2 assay, not a Philadelphia chromosome; ruled out.\n"
    "Option D (Ruxolitinib): a JAK1/2 inhibitor that shrinks the spleen and relieves the night "
    "sweats and weight loss of myelofibrosis; most appropriate.\n"
    "Option E (Stem cell transplantation): on reflection, although it is the only curative option, "
    "at 72 years with a prior myocardial infarction he is a poor transplant candidate; ruled out.\n"
)
CHECK = (
    "Initially option E looked attractive because it is curative, but his age and comorbidities "
    "argue against it.\n"
    "If option D were right, this would be myelofibrosis and we would expect extensive fibrosis "
    "on the marrow and a large spleen; both are present.\n"
    'To verify, option D is consistent with "A JAK 2 assay is positive" and the marrow fibrosis.\n'
)
CONCLUSION = (
    "The positive JAK 2 assay with extensive fibrosis and a spleen 6 cm below the costal margin "
    "indicates symptomatic primary myelofibrosis, so ruxolitinib (D) is the most appropriate next "
    "step. \\boxed{D}"
)
HONEST = f"<dx>\n{FINDINGS}{ANALYSIS}{CHECK}</dx>\n<conclusion>\n{CONCLUSION}\n</conclusion>"


def crpo(dx: str, conclusion: str = CONCLUSION) -> str:
    """A ``crpo`` completion from its two sections."""
    return f"<dx>\n{dx}\n</dx>\n<conclusion>\n{conclusion}\n</conclusion>"


FABRICATED_FINDINGS = (
    'Key findings: "a markedly enlarged liver on palpation", "teardrop cells on the smear", '
    '"a history of recurrent fevers since childhood" and "an elevated LDH of 900 U/L".\n'
    "First, these findings point to primary myelofibrosis, a JAK2-driven myeloproliferative "
    "neoplasm with marrow fibrosis and massive splenomegaly.\n"
    "Then I assess each option against them.\n"
)
_SENTENCES = [s for s in QUESTION.replace("\n", " ").split(". ") if s]

# The honest completion with one thing changed (the acceptance criteria of the issue).
WRONG_BOX = HONEST.replace("\\boxed{D}", "\\boxed{A}")
FABRICATED = crpo(
    FABRICATED_FINDINGS
    + ANALYSIS
    + CHECK.replace('"A JAK 2 assay is positive"', '"teardrop cells on the smear"')
)
NO_ANALYSIS = crpo(FINDINGS + CHECK)

# Attacks: none may earn more than HONEST on any objective or in total.
ATTACKS = {
    "every letter boxed": crpo(
        FINDINGS + ANALYSIS + CHECK,
        CONCLUSION.replace("\\boxed{D}", "".join(f"\\boxed{{{k}}}" for k in OPTIONS)),
    ),
    "several boxes": crpo(FINDINGS + ANALYSIS + CHECK, CONCLUSION + " \\boxed{D} \\boxed{E}"),
    "letters in one box": HONEST.replace("\\boxed{D}", "\\boxed{A,B,C,D,E}"),
    "question copied into dx": crpo(QUESTION),
    "question quoted into dx": crpo(f'"{QUESTION}"'),
    "question quoted in chunks": crpo(
        " ".join(f'"{s}"' for s in _SENTENCES) + "\n" + ANALYSIS + CHECK
    ),
    "quotes not in the question": FABRICATED,
    "verify repeated 50 times": crpo(
        "verify " * 50 + "\n" + "To verify, option D is consistent with the findings.\n" * 50
    ),
    "empty dx": crpo(""),
    "20,000-character dump": crpo((FINDINGS + ANALYSIS + CHECK) * 14),
    "unclosed dx": HONEST.replace("</dx>", ""),
    "unclosed conclusion": HONEST.replace("</conclusion>", ""),
    "nested tags": HONEST.replace("</dx>\n<conclusion>", "<conclusion>").replace(
        "</conclusion>", "</conclusion></dx>"
    ),
    "dx nested in dx": HONEST.replace("<dx>", "<dx><dx>", 1).replace("</dx>", "</dx></dx>", 1),
    "every option supported": crpo(
        FINDINGS
        + "".join(
            f"Option {k} ({v}): consistent with the findings; most likely.\n"
            for k, v in OPTIONS.items()
        )
        + CHECK
    ),
    "every option ruled out": crpo(
        FINDINGS
        + "".join(
            f"Option {k} ({v}): this does not fit the case at all; ruled out.\n"
            for k, v in OPTIONS.items()
        )
        + CHECK
    ),
    "templated reasons": crpo(
        FINDINGS
        + "".join(
            f"Option {k}: not consistent with the findings of this case; ruled out.\n"
            for k in "ABCE"
        )
        + "Option D: consistent with the findings of this case; most likely.\n"
        + CHECK
    ),
    "behaviour keywords without anchors": crpo(
        FINDINGS
        + ANALYSIS
        + "Wait. Actually, let me reconsider. We would expect more. Verify. Check. Confirm.\n"
        + "First, think. Then, think. Finally, think harder.\n"
    ),
    "hedging conclusion": HONEST.replace(
        "so ruxolitinib (D) is the most appropriate next step.",
        "so A, B, C, D or E could all be appropriate.",
    ),
}
