"""Cheap tricks a policy could find to earn the CRPO rewards without the reasoning.

Each trick takes an item and the plan of its honest answer (:func:`clinr1.traces.plan`) and
writes a completion with the *correct* box, so that accuracy is equal and what differs is
whether faithfulness and comprehensiveness pay for reasoning or for a house style. The
metamorphic tests check that the honest answer beats every one of them by a clear margin.
"""

from __future__ import annotations

from collections.abc import Callable

from clinr1.items import Item
from clinr1.rewards.grounding import case_body
from clinr1.traces import Plan, render

BOILERPLATE_QUOTES = (
    "comes to the physician",
    "comes to the emergency department",
    "is brought to the emergency department",
    "Vital signs are within normal limits",
    "Physical examination shows",
    "Laboratory studies show",
    "Which of the following",
)
INVENTED = (
    "a markedly enlarged liver on palpation",
    "teardrop cells on the peripheral smear",
    "recurrent fevers since early childhood",
    "a positive family history of similar episodes",
)
CUE_LINES = (
    "Wait, verify: we would expect Option {g} here.",
    "Let me double-check and confirm everything carefully before answering.",
    "First, think. Then, think. Finally, think harder.",
    "Actually, on second thought, let me reconsider all options again.",
    "This is consistent with all the findings.",
    "Working backwards, assuming the answer, we would expect exactly this.",
)


def unquoted(p: Plan) -> Plan:
    """``p`` with the quote marks taken out of its sentences: the trick brings its own quotes."""

    def strip(text: str) -> str:
        return text.replace('"', "")

    return Plan(
        **{
            **p.__dict__,
            "findings": [],
            "reasons": {k: strip(v) for k, v in p.reasons.items()},
            "extras": [strip(x) for x in p.extras],
            "check": strip(p.check),
            "conclusion": strip(p.conclusion),
        }
    )


def _with_findings(p: Plan, quotes: list[str]) -> str:
    """The honest answer with its evidence replaced by ``quotes``."""
    listed = ", ".join(f'"{q}"' for q in quotes)
    return render(unquoted(p), "option").replace("<dx>\n", f"<dx>\nFindings: {listed}.\n", 1)


def _dx(lines: list[str], item: Item, conclusion: str | None = None) -> str:
    gold = item.answer
    concl = conclusion or f"The answer is option {gold}."
    body = "\n".join(lines)
    return f"<dx>\n{body}\n</dx>\n<conclusion>\n{concl} \\boxed{{{gold}}}\n</conclusion>"


def _present(phrases: tuple[str, ...], item: Item) -> list[str]:
    flat = " ".join(item.question.split()).lower()
    return [p for p in phrases if p.lower() in flat]


def boilerplate_template(item: Item, p: Plan) -> str:
    """Vignette boiler-plate quoted as findings, one generic rule-out per option with one word
    varied, and a closing cue line (the template the issue found paid the maximum)."""
    quotes = _present(BOILERPLATE_QUOTES, item) or ["Which of the following"]
    words = ("history", "examination", "laboratory", "findings", "presentation", "picture")
    lines = ["Key findings: " + ", ".join(f'"{q}"' for q in quotes) + "."]
    for i, k in enumerate(item.options):
        if k == item.answer:
            lines.append(f"Option {k}: this is consistent with the {words[i % 6]}; most likely.")
        else:
            lines.append(f"Option {k}: this does not fit the {words[i % 6]}; ruled out.")
    lines.append(f'To verify, option {item.answer} is consistent with "{quotes[0]}".')
    return _dx(lines, item, f'Given "{quotes[0]}", the answer is option {item.answer}.')


def stem_copied(item: Item, p: Plan) -> str:
    """The case quoted sentence by sentence as its "findings", then the honest analysis."""
    import re

    case = (
        f"{item.context}\n{case_body(item.question)}" if item.context else case_body(item.question)
    )
    sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n", case) if s]
    quoted = " ".join(f'"{s.strip()}"' for s in sentences)
    honest = render(p, "option")
    return honest.replace("<dx>\n", f"<dx>\n{quoted}\n", 1)


def shifted_windows(item: Item, p: Plan) -> str:
    """One finding quoted three times in shifted windows instead of distinct findings."""
    first = p.findings[0].split() if p.findings else ["the", "case"]
    words = " ".join(item.question.split()).split()
    start = next((i for i in range(len(words)) if words[i : i + len(first)] == first), 0)
    windows = [" ".join(words[start + i : start + i + len(first) + 1]) for i in (0, 1, 2)]
    return _with_findings(p, windows)


def every_option_ruled_out(item: Item, p: Plan) -> str:
    verdicts = dict.fromkeys(p.options, "ruled out")
    return render(Plan(**{**p.__dict__, "verdicts": verdicts}), "option")


def every_option_less_likely(item: Item, p: Plan) -> str:
    """Every option set aside softly, the gold one too, then taken up by the closing check
    (what the run-6 CRPO arm learned: "Less likely." under each option, then "Working
    backwards from option C" and a box on C)."""
    verdicts = dict.fromkeys(p.options, "less likely")
    return render(Plan(**{**p.__dict__, "verdicts": verdicts}), "option")


def every_option_supported(item: Item, p: Plan) -> str:
    verdicts = dict.fromkeys(p.options, "most likely")
    return render(Plan(**{**p.__dict__, "verdicts": verdicts}), "option")


def rotating_template(item: Item, p: Plan) -> str:
    """One rule-out template for every distractor, rotating the quoted finding."""
    f = p.findings or ["the case"]
    reasons = {
        k: (p.reasons[k] if k == item.answer else f'it does not account for "{f[i % len(f)]}"')
        for i, k in enumerate(p.options)
    }
    return render(Plan(**{**p.__dict__, "reasons": reasons}), "option")


def keyword_stuffing(item: Item, p: Plan) -> str:
    """Behaviour and verdict keywords with the options named, no reasoning."""
    letters = ", ".join(f"Option {k}" for k in item.options)
    lines = [
        f"First, {letters}. Then verify, check, confirm. Finally reconsider.",
        "Wait. Actually, let me re-evaluate. We would expect. If this were. Working backwards.",
        f"Option {item.answer} most likely; the rest ruled out, excluded, unlikely.",
    ]
    return _dx(lines, item)


def option_texts_quoted(item: Item, p: Plan) -> str:
    """The options' own texts quoted as if they were findings."""
    return _with_findings(p, list(item.options.values()))


def lead_in_quoted(item: Item, p: Plan) -> str:
    """The question's lead-in sentence quoted as the finding."""
    import re

    lead = re.split(r"(?<=[.!?])\s+", item.question.strip())[-1]
    return _with_findings(p, [lead.rstrip("?:.")])


def invented_findings(item: Item, p: Plan) -> str:
    """Clinical-sounding findings that the case does not contain."""
    return _with_findings(p, [q for q in INVENTED if q.lower() not in item.question.lower()])


def case_words_as_reasons(item: Item, p: Plan) -> str:
    """Each distractor 'ruled out' with a chunk of the stem as its reason (no reasoning)."""
    words = " ".join(case_body(item.question).split()).split()
    reasons = {}
    for i, k in enumerate(p.options):
        chunk = " ".join(words[i * 6 : i * 6 + 6]) or "the case"
        reasons[k] = p.reasons[k] if k == item.answer else chunk
    return render(Plan(**{**p.__dict__, "reasons": reasons}), "option")


def bare_answer(item: Item, p: Plan) -> str:
    """Just the structure and the right box."""
    return _dx([f"Option {item.answer}."], item)


def hedged(item: Item, p: Plan) -> str:
    """The honest analysis with a conclusion that leaves two options open."""
    other = next(k for k in p.options if k != item.answer)
    return render(
        Plan(**{**p.__dict__, "conclusion": f"Either {item.answer} or {other} is equally likely."}),
        "option",
    )


def repeated_block(item: Item, p: Plan) -> str:
    """The honest gold reason pasted under every option."""
    reasons = dict.fromkeys(p.options, p.reasons[item.answer])
    return render(Plan(**{**p.__dict__, "reasons": reasons}), "option")


TRICKS: dict[str, Callable[[Item, Plan], str]] = {
    "boilerplate template": boilerplate_template,
    "stem copied": stem_copied,
    "every option ruled out": every_option_ruled_out,
    "every option less likely": every_option_less_likely,
    "every option supported": every_option_supported,
    "rotating template": rotating_template,
    "keyword stuffing": keyword_stuffing,
    "option texts quoted": option_texts_quoted,
    "lead-in quoted": lead_in_quoted,
    "invented findings": invented_findings,
    "case words as reasons": case_words_as_reasons,
    "bare answer": bare_answer,
    "hedged conclusion": hedged,
    "gold reason repeated": repeated_block,
}
