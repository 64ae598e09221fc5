"""A dataset's explanation as one clean sentence (clinr1.explanations): prefixes, citations
and the answer's glued name stripped; sentences with scrape glue, or leaning on a sentence the
trace does not quote, skipped; never a cut mid-clause."""

from __future__ import annotations

import pytest

from clinr1.explanations import explanation_sentence


@pytest.mark.parametrize(
    ("explanation", "answer_text", "sentence"),
    [
        # the answer's text glued after "Ans: B." is the answer, not the explanation
        (
            "Ans: B. Linagliptin(Ref Goodman 12/e p1264)Linagliptin is excreted in bile, so it "
            "is safe in renal failure.",
            "Linagliptin",
            "Linagliptin is excreted in bile, so it is safe in renal failure",
        ),
        (
            "Answer- B. Septic shockSepticemia is mainly due to endotoxin of Gram-negative "
            "bacilli.",
            "Septic shock",
            "Septicemia is mainly due to endotoxin of Gram-negative bacilli",
        ),
        (
            "Answer- B (Greater petrosal nerve)The greater petrosal nerve is a branch of the "
            "facial nerve.",
            "Greater petrosal nerve",
            "The greater petrosal nerve is a branch of the facial nerve",
        ),
        (
            "Ans: B. Linagliptin is excreted in bile, so it is safe in renal failure.",
            "Linagliptin",
            "Linagliptin is excreted in bile, so it is safe in renal failure",
        ),
        (
            "Ans: A. Vitamin A deficiency causes night blindness and xerophthalmia.",
            "Vitamin A",
            "Vitamin A deficiency causes night blindness and xerophthalmia",
        ),
        # MedMCQA's "Ans. is 'a' i.e., <answer> <explanation>" shape
        (
            "Ans. is 'a' i.e., Efficacy of the drug Efficacy is the maximal response a drug "
            "produces.",
            "Efficacy of the drug",
            "Efficacy is the maximal response a drug produces",
        ),
        (
            "Ans is a i.e. Rickets. Rickets results from vitamin D deficiency in children.",
            "Rickets",
            "Rickets results from vitamin D deficiency in children",
        ),
        (
            "Answer is a common finding in these cases of drug overdose.",
            "",
            "Answer is a common finding in these cases of drug overdose",
        ),
        # without a prefix, a sentence that names the answer first is a real sentence
        (
            "Trimethoprim-sulfamethoxazole inhibits CYP2C9 and raises the INR.",
            "Trimethoprim-sulfamethoxazole",
            "Trimethoprim-sulfamethoxazole inhibits CYP2C9 and raises the INR",
        ),
        # glue from a lost line break, a citation or a link: the sentence is skipped
        ("Ans: A. LMWH(Ref: X)Heparin for cancer thrombosisCurrent guidelines say so.", "", None),
        ("It is safe in renal failure.Chronic kidney disease is common in diabetes.", "", None),
        (
            "Nephrotic range proteinuria is seen in this diseaseIn such patients edema rises.",
            "",
            None,
        ),
        ("Dialysis is preferredCKD patients need it when the GFR falls below 15.", "", None),
        ("It is seen in chronic renal failure)Chronic kidney disease follows.", "", None),
        (
            "A Na:K ratio above 30 in saliva suggests cystic fibrosis in children.",
            "",
            "A Na:K ratio above 30 in saliva suggests cystic fibrosis in children",
        ),
        ("Treat with aspirin. REF: Harrison 19th edition, page 1715, table 3.", "", None),
        (
            "See http://stembook.org/node/588 for the marker. ABCG2 marks limbal stem cells "
            "of the cornea.",
            "",
            "ABCG2 marks limbal stem cells of the cornea",
        ),
        # a later sentence that leans on the one before it is skipped; a first one is kept
        (
            "Ans: C. Digoxin(Ref: KDT)Digoxin toxicityIs common. Secondly before initiating "
            "therapy check potassium. Hypokalaemia raises the risk of digoxin toxicity.",
            "Digoxin",
            "Hypokalaemia raises the risk of digoxin toxicity",
        ),
        ("Seen in renal failure.Chronic cases. Hence, 90% of the subjects are carriers.", "", None),
        (
            "However rare, it is the commonest cause of painless jaundice in the elderly.",
            "",
            "However rare, it is the commonest cause of painless jaundice in the elderly",
        ),
        # ... but not a word that only begins like one ("So-called", "Soft")
        (
            "Sore throat. So-called berry aneurysms rupture into the subarachnoid space.",
            "",
            "So-called berry aneurysms rupture into the subarachnoid space",
        ),
        (
            "Sore throat. Soft tissue swelling of the neck suggests an abscess here.",
            "",
            "Soft tissue swelling of the neck suggests an abscess here",
        ),
        (
            "Ans: C. Digoxin\nHence it is used in atrial fibrillation with heart failure.",
            "Digoxin",
            "Hence it is used in atrial fibrillation with heart failure",
        ),
    ],
)
def test_explanation_sentences_are_clean(explanation, answer_text, sentence) -> None:
    assert explanation_sentence(explanation, answer_text=answer_text) == sentence


def test_explanations_are_never_cut_mid_clause() -> None:
    long = (
        "Hives, wheezing and a blood pressure of 78/40 mm Hg after a sting are anaphylaxis; "
        "intramuscular epinephrine comes first, antihistamines and steroids later."
    )
    assert explanation_sentence(long, max_words=20) == (
        "Hives, wheezing and a blood pressure of 78/40 mm Hg after a sting are anaphylaxis"
    )
    assert explanation_sentence(long) == long.rstrip(".")  # 23 words: whole under 35
    no_break = "Glucose 520 mg/dL with pH 7.12, bicarbonate 9 mEq/L and an anion gap of 26 " * 2
    assert explanation_sentence(no_break, max_words=20) is None


def test_answer_prefixes_are_stripped_in_any_case_but_only_as_prefixes() -> None:
    assert explanation_sentence("Answer- C. Atropine is no longer recommended in bradycardia") == (
        "Atropine is no longer recommended in bradycardia"
    )
    assert explanation_sentence("Answer- a (efficacy of the drug)") is None  # nothing left
    assert explanation_sentence("ans: (c) the third nerve palsy spares the pupil").startswith("the")
    for text in ("Ansa cervicalis supplies the infrahyoid muscles", "Answer is based on the CT"):
        assert explanation_sentence(text) == text
