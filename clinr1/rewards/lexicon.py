"""Phrase lexicons the rule-based rewards read: option verdicts and reasoning behaviours.

Every pattern runs on lower-cased text with word boundaries. They are deliberately small and
listed here in one place so that ``docs/crpo.md`` can quote them and a change to one is a
reviewed change to the reward. Each behaviour needs an *anchor* as well as a cue (see
:mod:`clinr1.rewards.comprehensiveness`), so a cue word alone never earns credit.
"""

from __future__ import annotations

import re

# --- Option verdicts ------------------------------------------------------------------------
# A block of <dx> text about one option is read as ruling it out ("out") or in ("in") by the
# weighted cues it contains: strong verdicts weigh 2, weak ones 1. A support cue preceded by a
# negator ("not consistent with", "not the most likely") counts as a rule-out of the same weight;
# a negated strong rule-out ("cannot be ruled out", "not excluded") counts as nothing.
# Every pattern is one alternative starting with a literal lower-case letter (the scanner groups
# them by that letter), matched from a word start to a word end.
OUT_STRONG = (
    r"ruled? (?:it |this |them )?out",
    r"rules (?:it |this )?out",
    r"ruling (?:it |this )?out",
    r"exclude[ds]?",
    r"eliminated?",
    r"rejected?",
    r"incorrect",
    r"wrong",
    r"unlikely",
    r"implausible",
    r"not (?:the )?(?:answer|correct|right)",
)
OUT_WEAK = (
    r"inconsistent",
    r"inappropriate",
    r"does(?:n't| not)",
    r"do(?:n't| not)",
    r"did(?:n't| not)",
    r"would(?:n't| not)",
    r"cannot",
    r"can't",
    r"isn't",
    r"is not",
    r"are not",
    r"aren't",
    r"less likely",
    r"no evidence",
    r"not (?:supported|seen|present|typical|expected|associated|indicated|appropriate)",
    r"argues? against",
    r"points? against",
    r"speaks? against",
    r"contraindicated",
)
IN_STRONG = (
    r"most likely",
    r"most appropriate",
    r"most consistent",
    r"best (?:answer|choice|option|fit|fits|explains)",
    r"correct (?:answer|choice|option)",
    r"is correct",
    r"are correct",
    r"treatment of choice",
    r"drug of choice",
    r"test of choice",
    r"supported",
    r"diagnostic of",
    r"pathognomonic",
    r"first[- ]line",
    r"fits best",
    r"ruled in",
)
IN_WEAK = (
    r"consistent with",
    r"supports?",
    r"fits",
    r"explains?",
    r"accounts? for",
    r"indicated",
    r"appropriate",
    r"suggest(?:s|ive of)",
    r"characteristic of",
    r"typical of",
    r"classic",
    r"matches",
    r"compatible with",
    r"likely",
)
VERDICT_CUES = {"out2": OUT_STRONG, "out1": OUT_WEAK, "in2": IN_STRONG, "in1": IN_WEAK}

# --- Reasoning behaviours -----------------------------------------------------------------
# Each behaviour is a cue lexicon; the reward counts a sentence only when its anchor is also
# there (see comprehensiveness.py), counts a repeated sentence once, and credits a behaviour at
# most once. The first three verification cues are also weak "in" verdict cues.
BEHAVIOUR_CUES: dict[str, tuple[str, ...]] = {
    # checking the chosen answer against the findings
    "verification": (
        r"consistent with (?:all|every|each|the findings)",
        r"explains? (?:all|every|each|the findings)",
        r"accounts? for (?:all|every|each|the findings)",
        r"verif(?:y|ies|ied|ying|ication)",
        r"double[- ]check\w*",
        r"cross[- ]check\w*",
        r"check(?:s|ed|ing)?",
        r"confirm(?:s|ed|ing)?",
        r"re-?examin\w+",
        r"sanity[- ]check",
        r"reconcil\w+",
    ),
    # a hypothesis followed back to the data it predicts
    "backward_chaining": (
        r"would (?:expect|predict|explain|account|produce|cause|show|present|be expected|see)",
        r"we would (?:expect|see|find)",
        r"one would (?:expect|see|find)",
        r"expected (?:findings?|to (?:see|find|show))",
        r"if (?:this|it|the (?:diagnosis|answer|patient|cause)) (?:were|was|is|had)",
        r"working backwards?",
        r"reason(?:ing)? backwards?",
        r"assuming (?:this|that|the)",
    ),
    # revising an earlier line of reasoning
    "backtracking": (
        r"wait",
        r"actually",
        r"on (?:second|further) thought",
        r"on closer (?:look|inspection|review)",
        r"reconsider\w*",
        r"re-?evaluat\w+",
        r"revisit\w*",
        r"initially",
        r"at first",
        r"that (?:is|was) (?:wrong|incorrect|a mistake)",
        r"this (?:is|was) (?:wrong|incorrect|a mistake)",
        r"going back",
        r"let me re\w+",
    ),
    # explicit sub-goals (phrases); ordinal step markers are matched by STEP_RE
    "subgoal": (
        r"sub-?goals?",
        r"we (?:need|have) to (?:determine|identify|establish|decide|find)",
        r"i (?:need|have) to (?:determine|identify|establish|decide|find)",
        r"the key (?:question|step|issue) is",
        r"key (?:question|step|issue) is",
        r"break (?:this|it) down",
        r"to answer (?:this|the question)",
    ),
}
BEHAVIOURS = tuple(BEHAVIOUR_CUES)
# The three verification cues above that also read as "in" verdicts.
_ALSO_IN1 = frozenset(BEHAVIOUR_CUES["verification"][:3])


def _cue_table() -> list[tuple[str, frozenset[str]]]:
    """(pattern, kinds) in matching order: longer behaviour phrases before the verdicts."""
    table = [
        (pat, frozenset({b, "in1"} if pat in _ALSO_IN1 else {b}))
        for b, pats in BEHAVIOUR_CUES.items()
        for pat in pats
    ]
    table += [(pat, frozenset({kind})) for kind, pats in VERDICT_CUES.items() for pat in pats]
    return table


def _compile_cues() -> tuple[re.Pattern[str], dict[str, frozenset[str]]]:
    """One scanner for all cues: alternatives grouped by first letter, an empty named group
    marking which alternative matched. Grouping makes it several times faster than a flat
    alternation (each word start tries one branch per first letter, not every pattern)."""
    by_first: dict[str, list[str]] = {}
    kinds: dict[str, frozenset[str]] = {}
    for i, (pat, k) in enumerate(_cue_table()):
        first = pat[0]
        assert first.isalpha() and first.islower(), pat
        by_first.setdefault(first, []).append(f"{pat[1:]}(?P<c{i}>)")
        kinds[f"c{i}"] = k
    body = "|".join(f"{c}(?:{'|'.join(alts)})" for c, alts in by_first.items())
    # Each match starts at the space before the word: a literal first character lets the regex
    # engine skip ahead in C. Callers map separators to spaces first (CUE_SEPARATORS).
    return re.compile(rf" (?:{body})\b"), kinds


CUE_RE, CUE_KINDS = _compile_cues()
CUE_SEPARATORS = str.maketrans(dict.fromkeys('\t\n\r([{"“”*,;:.!?/>', " "))
# A negator up to two words before a cue, same clause: flips a support cue, cancels a strong
# rule-out.
NEGATED_RE = re.compile(
    r"(?:\b(?:not|no|never|cannot|without|hardly|neither|nor)|n't)\s+(?:[\w'-]+\s+)?$"
)
# In the conclusion, another option may be named only to set it aside.
CONTRAST_RE = re.compile(
    r"\b(?:not|no|rather than|instead of|unlike|over|versus|vs|whereas|compared|contrast"
    r"|ruled? out|excluded?|unlikely|less likely|incorrect|wrong|nor)\b|n't\b"
)
# An ordinal marker at the start of a sentence or line: "First,", "Step 2:", "3.", "Finally".
STEP_RE = re.compile(
    r"^[\s*#>\-]*(?:step\s*(\d{1,2})\b|(\d{1,2})[.)](?=\s)"
    r"|(first(?:ly)?|second(?:ly)?|third(?:ly)?|next|then|finally|lastly)\b)"
)
STEP_STARTS = ("step", "first", "second", "third", "next", "then", "final", "last", *"0123456789")

# Function words and question boiler-plate: a quote or n-gram made only of these is no finding.
STOPWORDS = frozenset(
    """a an the of to in on at by for with from and or but if then than as is are was were be
    been being has have had do does did this that these those it its he she his her him they
    them their we you i our your which what who whom whose when where why how not no nor so
    such there here into onto over under about above below after before during while also
    following most likely appropriate next step best true false except correct all any each
    other some more less very can could would should may might will shall must""".split()  # noqa: SIM905
)
