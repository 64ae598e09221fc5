"""The cue scanner: every verdict and behaviour phrase of :mod:`~clinr1.rewards.lexicon` in a text.

One compiled regular expression finds them all. Alternatives are grouped by their first letter
and each match starts at the space before a word, so the regex engine skips ahead in C; within a
letter, the table order puts longer and negated forms first ("is not the answer" before "is not").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from clinr1.rewards.lexicon import (
    BEHAVIOUR_CUES,
    CROSSES,
    NEGATIVE_STEM_RE,
    TICKS,
    VERDICT_CUES,
    VERDICT_KINDS,
)

# How a question's verdicts are read (``negative`` below): an ordinary stem; a negative stem
# ("all EXCEPT", "which is NOT"), where fit and true/false flip; a negative stem whose writer
# uses correct/incorrect for the answer ("✅ Correct" on the exception), where only fit flips.
ORDINARY, NEGATIVE, NEGATIVE_ANSWER_SENSE = 0, 1, 2

# Verification cues that are also fit verdicts ("consistent with all the findings").
_ALSO_FIT = frozenset(BEHAVIOUR_CUES["verification"][:3])
# Bare negators: when one sits right before a support cue, the pair is one rule-out.
_NEGATOR_PATTERNS = frozenset(
    p for p in VERDICT_CUES["fit-1"] if p.split("(")[0] in ("does", "do", "did", "would", "is")
) | {"cannot", "can't", "are(?:n't| not)", "was(?:n't| not)"}
NEGATED_RE = re.compile(
    r"(?:\b(?:not|no|never|cannot|without|hardly|neither|nor)|n't)\s+(?:[\w'-]+\s+){0,2}$"
)
SEPARATORS = str.maketrans(dict.fromkeys('\t\n\r([{"“”«»*,;:.!?/>|', " "))


@dataclass(frozen=True)
class Cue:
    """One cue in a text: its span, its verdict kind (or ``None``) and its behaviours."""

    start: int
    end: int
    verdict: str | None
    behaviours: frozenset[str]
    negator: bool = False


def _table() -> list[tuple[str, str | None, frozenset[str], bool]]:
    """(pattern, verdict kind, behaviours, is a bare negator), behaviour phrases first."""
    rows: list[tuple[str, str | None, frozenset[str], bool]] = []
    for name, patterns in BEHAVIOUR_CUES.items():
        for pat in patterns:
            rows.append((pat, "fit+1" if pat in _ALSO_FIT else None, frozenset({name}), False))
    for kind, patterns in VERDICT_CUES.items():
        for pat in patterns:
            rows.append((pat, kind, frozenset(), pat in _NEGATOR_PATTERNS))
    return rows


def _compile() -> tuple[re.Pattern[str], dict[str, tuple[str | None, frozenset[str], bool]]]:
    by_first: dict[str, list[str]] = {}
    kinds: dict[str, tuple[str | None, frozenset[str], bool]] = {}
    for i, (pat, verdict, behaviours, negator) in enumerate(_table()):
        first = pat[0]
        assert first.isalpha() and first.islower(), pat
        by_first.setdefault(first, []).append(f"{pat[1:]}(?P<c{i}>)")
        kinds[f"c{i}"] = (verdict, behaviours, negator)
    body = "|".join(f"{c}(?:{'|'.join(alts)})" for c, alts in by_first.items())
    return re.compile(rf" (?:{body})\b"), kinds


CUE_RE, _KINDS = _compile()


def find_cues(low: str) -> list[Cue]:
    """Every cue in lower-cased ``low``, in order, with negated support turned into rule-outs.

    A support cue with a negator up to two words before it ("does not fit", "not the most
    likely") becomes a rule-out of its own weight, and the bare negator that did it is dropped.

    >>> [(c.verdict, sorted(c.behaviours)) for c in find_cues("ruled out; does not fit. verify")]
    [('ans-', []), ('fit-1', []), (None, ['verification'])]
    """
    marks: list[Cue] = []
    if not low.isascii():  # str.translate is slow on wide strings; cues are ASCII, offsets kept
        marks = [
            Cue(i, i + 1, "ans+" if ch in TICKS else "ans-", frozenset())
            for i, ch in enumerate(low)
            if ch in TICKS or ch in CROSSES
        ]
        low = low.replace("’", "'").encode("ascii", "replace").decode("ascii")
    padded = " " + low.translate(SEPARATORS)  # each match starts at the space before a cue
    cues: list[Cue] = []
    for m in CUE_RE.finditer(padded):
        verdict, behaviours, negator = _KINDS[m.lastgroup or ""]
        start, end = m.start(), m.end() - 1
        if verdict is not None and VERDICT_KINDS[verdict][1] > 0:
            window = low[max(0, start - 24) : start]
            if NEGATED_RE.search(window):
                if cues and cues[-1].negator and cues[-1].end >= start - 16:
                    cues.pop()  # "does not fit": one rule-out, not two
                family, _, weight = VERDICT_KINDS[verdict]
                verdict = _flipped(family, weight)
        cues.append(Cue(start, end, verdict, behaviours, negator))
    if marks:
        cues = sorted(cues + marks, key=lambda c: c.start)
    return cues


def _flipped(family: str, weight: int) -> str:
    if family == "answer":
        return "ans-"
    if family == "truth":
        return "true-"
    return "fit-2" if weight == 2 else "fit-1"


def verdict_score(
    cues: list[Cue] | tuple[Cue, ...], negative: int = ORDINARY, strong_only: bool = False
) -> tuple[int, int]:
    """(weighted sum, sign of the last cue) of verdict ``cues``; on a ``negative`` stem the fit
    cues (and, read as statements, true/false) count with the opposite sign: the answer is the
    option that does not fit.
    ``strong_only``: count only the weight-2 cues ("ruled out", "most likely")."""
    total = last = 0
    for cue in cues:
        if cue.verdict is None:
            continue
        family, sign, weight = VERDICT_KINDS[cue.verdict]
        if not sign or (strong_only and weight < 2):
            continue
        if (negative and family == "fit") or (negative == NEGATIVE and family == "truth"):
            sign = -sign
        total += sign * weight
        last = sign
    return total, last


def verdict_sign(cues: list[Cue] | tuple[Cue, ...], negative: int = ORDINARY) -> int:
    """+1 (ruled in), -1 (ruled out) or 0: strong cues decide when there are any, weak ones
    ("does not", "consistent with") only otherwise; a tie goes to the last cue that counts."""
    for strong_only in (True, False):
        total, last = verdict_score(cues, negative, strong_only)
        if total or last:
            return (total > 0) - (total < 0) or last
    return 0


def verdict_of(text: str, negative: int = ORDINARY) -> str:
    """``in``, ``out`` or ``none``: the verdict the cues of one option's text add up to. Strong
    cues ("ruled out", "most likely") decide; weak ones ("does not", "fits") only without them.

    >>> verdict_of("Used for hairy cell leukemia, not myelofibrosis; ruled out.")
    'out'
    >>> verdict_of("Not consistent with the marrow findings.")
    'out'
    >>> verdict_of("Cannot be ruled out; it is the most likely diagnosis.")
    'in'
    >>> verdict_of("A typical feature of the disease.", negative=True)
    'out'
    """
    return verdict_from(find_cues(text.lower()), negative)


def verdict_from(cues: list[Cue] | tuple[Cue, ...], negative: int = ORDINARY) -> str:
    """The verdict of a list of cues (see :func:`verdict_sign`): ``in``, ``out`` or ``none``."""
    return {1: "in", -1: "out"}.get(verdict_sign(cues, negative), "none")


_SENTENCE_RE = re.compile(r"(?<=[.!?:])\s+|\n+")


@lru_cache(maxsize=1024)
def is_negative_stem(question: str) -> bool:
    """Whether the question asks for the option that does *not* fit: EXCEPT, NOT, false,
    incorrect, least likely (read in its last sentence, where the lead-in is).

    >>> is_negative_stem("All of the following are causes of anaemia EXCEPT:")
    True
    >>> is_negative_stem("He does not smoke. Which of the following is the diagnosis?")
    False
    >>> is_negative_stem("Although simple, it is not used frequently because:")
    False
    """
    parts = [p for p in _SENTENCE_RE.split(question.strip()) if p.strip()]
    if not parts:
        return False
    lead = parts[-1]
    if len(lead.split()) < 4 and len(parts) > 1:  # "...statements is false regarding:\nX?"
        lead = f"{parts[-2]} {lead}"
    return bool(NEGATIVE_STEM_RE.search(lead))
