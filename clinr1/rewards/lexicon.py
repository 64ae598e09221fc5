"""The phrase lists the rule-based rewards read, in one place so that a change is a reviewed one.

Every pattern runs on lower-cased text and is matched from a word start to a word end. Each
pattern starts with a literal lower-case letter (the scanner in :mod:`clinr1.rewards.cues` groups
the alternatives by that letter), and within a letter the longer, negated forms come first, so
"is not the answer" is read before "is not", and "cannot be excluded" before "cannot".
"""

from __future__ import annotations

import re

# --- Option verdicts ------------------------------------------------------------------------
# Two families, because a negative stem ("all of the following EXCEPT") turns one of them over:
# * answer cues say whether an option is the one picked ("the correct answer", "ruled out");
# * fit cues say whether an option fits the case or is true ("consistent with", "does not").
# On an ordinary question both point the same way; on a negative stem the answer is the option
# that does *not* fit, so fit cues count with the opposite sign. Strong cues weigh 2, weak 1.
# "cannot be excluded" and its kin are hedges: they weigh nothing.
NEUTRAL = (
    r"cannot be (?:ruled out|excluded|eliminated)",
    r"can't be (?:ruled out|excluded|eliminated)",
    r"can not be (?:ruled out|excluded|eliminated)",
    r"not (?:be )?(?:ruled out|excluded|eliminated)",
    r"does(?:n't| not) (?:rule out|exclude|eliminate)",
    r"do(?:n't| not) (?:rule out|exclude|eliminate)",
    r"is(?:n't| not) (?:ruled out|excluded|eliminated)",
    r"not unlikely",
)
ANSWER_OUT = (
    r"incorrect (?:answer|choice|option)",
    r"wrong (?:answer|choice|option)",
    r"is(?:n't| not) (?:the |a )?(?:correct |right |best |most appropriate )?"
    r"(?:answer|choice|option)",
    r"are(?:n't| not) (?:the |a )?(?:correct |right |best |most appropriate )?"
    r"(?:answers?|choices?|options?)",
    r"w(?:as|ere)(?:n't| not) (?:the |a )?(?:correct |right |best |most appropriate )?"
    r"(?:answers?|choices?|options?)",
    r"not (?:the |a )?(?:correct |right |best |most appropriate )?(?:answer|choice)",
    r"ruled? (?:it |this |them )?out",
    r"rules (?:it |this )?out",
    r"ruling (?:it |this )?out",
    r"exclude[ds]?",
    r"eliminated?",
    r"rejected?",
    r"discard(?:ed)?",
    # "Cerebral ischemia is a recognised distractor here": not the answer, on any stem
    r"is (?:a |the )?(?:recogni[sz]ed |known |classic |common |typical )?distractor\b",
    r"are (?:the )?(?:recogni[sz]ed |known |classic |common |typical )?distractors\b",
)
ANSWER_IN = (
    r"is (?:the |our |my )?(?:correct |right |best |final |most likely )?(?:answer|choice)\b",
    r"the (?:correct |right |best |final )?(?:answer|choice) (?:is|would be|here is)",
    r"correct (?:answer|choice|option)",
    r"right (?:answer|choice|option)",
    r"best (?:answer|choice|option)",
    r"our answer",
    r"my answer",
    r"ruled in",
    r"that leaves",
    r"this leaves",
    r"which leaves",
    r"odd one out",
    r"exception",
)
# Fit cues that read the same on any stem.
FIT_OUT_STRONG = (
    r"is(?:n't| not) (?:the )?(?:most likely|most appropriate|best)",
    r"unlikely",
    r"implausible",
    r"inconsistent",
    r"incompatible",
    r"contraindicated",
    r"not (?:consistent|compatible|supported|indicated|associated|seen|present|a feature|"
    r"a cause|typical|characteristic|expected|appropriate|used|true|correct|right|necessary|"
    r"needed|required|warranted|helpful|useful|effective|recommended|first[- ]line)",
    r"poor (?:fit|choice|option)",
    r"improbable",
    r"unnecessary",
    r"unwarranted",
    r"premature",
    r"no role",
)
FIT_OUT_WEAK = (
    r"inappropriate",
    r"does(?:n't| not)",
    r"do(?:n't| not)",
    r"did(?:n't| not)",
    r"would(?:n't| not)",
    r"cannot",
    r"can't",
    r"is(?:n't| not)",
    r"are(?:n't| not)",
    r"was(?:n't| not)",
    r"less likely",
    r"less appropriate",
    r"no evidence",
    r"no support",
    r"argues? against",
    r"points? against",
    r"speaks? against",
    r"lacks?",
    r"fails? to",
    r"irrelevant",
    r"unrelated",
)
FIT_IN_STRONG = (
    r"most likely",
    r"most appropriate",
    r"most consistent",
    r"most common",
    r"best (?:explains|fits|fit|explanation|next step|treatment|initial)",
    r"fits best",
    r"treatment of choice",
    r"drug of choice",
    r"test of choice",
    r"investigation of choice",
    r"gold standard",
    r"supported",
    r"diagnostic of",
    r"pathognomonic",
    r"first[- ]line",
    r"preferred",
)
FIT_IN_WEAK = (
    r"consistent with",
    r"compatible with",
    r"supports?",
    r"fits",
    r"fit",
    r"explains?",
    r"accounts? for",
    r"indicated",
    r"appropriate",
    r"suggest(?:s|ive of)",
    r"characteristic",
    r"typical",
    r"classic",
    r"matches",
    r"likely",
    r"plausible",
    r"associated with",
    r"a feature of",
    r"seen in",
    r"causes",
    r"recommended",
    r"tempting",
    r"attractive",
)
# Statement cues: true/correct of a statement. On an ordinary stem "incorrect" is a rule-out; on
# a negative stem ("which is incorrect?") the incorrect statement is the answer.
# Adjectives in passing ("false evidence", "true vertigo") are no verdicts: only predicates.
TRUTH_IN = (
    r"is (?:true|correct|accurate|valid)",
    r"are (?:true|correct|accurate|valid)",
    r"holds true",
    r"true statement",
    r"correct statement",
    r"correct",
)
TRUTH_OUT = (
    r"is (?:false|untrue|inaccurate|invalid)",
    r"are (?:false|untrue|inaccurate|invalid)",
    r"false statement",
    r"incorrect",
    r"wrong",
    r"untrue",
    r"inaccurate",
)

# Tick and cross marks used as verdicts ("❌ A. Cladribine", "| B | ✅ |").
TICKS = frozenset("✅✔☑✓")
CROSSES = frozenset("❌✗✘✖❎")
# kind -> (family, sign, weight). Families: "answer", "fit", "truth" (true/false of a
# statement: on a negative stem read as the statement's truth, or as the answer, whichever
# names one option), "neutral".
VERDICT_KINDS: dict[str, tuple[str, int, int]] = {
    "neutral": ("neutral", 0, 0),
    "ans-": ("answer", -1, 2),
    "ans+": ("answer", 1, 2),
    "fit-2": ("fit", -1, 2),
    "fit-1": ("fit", -1, 1),
    "fit+2": ("fit", 1, 2),
    "fit+1": ("fit", 1, 1),
    "true+": ("truth", 1, 2),
    "true-": ("truth", -1, 2),
}
VERDICT_CUES: dict[str, tuple[str, ...]] = {
    "neutral": NEUTRAL,
    "ans-": ANSWER_OUT,
    "fit-2": FIT_OUT_STRONG,
    "ans+": ANSWER_IN,
    "true-": TRUTH_OUT,
    "fit+2": FIT_IN_STRONG,
    "true+": TRUTH_IN,
    "fit-1": FIT_OUT_WEAK,
    "fit+1": FIT_IN_WEAK,
}

# --- Reasoning behaviours -----------------------------------------------------------------
# A cue alone earns nothing: each behaviour needs its anchor as well (see behaviours.py).
BEHAVIOUR_CUES: dict[str, tuple[str, ...]] = {
    # checking the leading answer against the findings
    "verification": (
        r"consistent with (?:all|every|each|both) ",
        r"explains? (?:all|every|each|both) ",
        r"accounts? for (?:all|every|each|both) ",
        r"verif(?:y|ies|ied|ying|ication)",
        r"double[- ]check\w*",
        r"cross[- ]check\w*",
        r"check(?:s|ed|ing)?",
        r"confirm(?:s|ed|ing|ation)?",
        r"re-?examin\w+",
        r"sanity[- ]check",
        r"reconcil\w+",
        r"making sure",
        r"to be sure",
    ),
    # a hypothesis followed back to the findings it predicts
    "backward_chaining": (
        r"would (?:expect|predict|explain|account|produce|cause|show|present|be expected|see)",
        r"we would (?:expect|see|find)",
        r"one would (?:expect|see|find)",
        r"expected (?:findings?|to (?:see|find|show))",
        r"if (?:this|it|the (?:diagnosis|answer|patient|cause)) (?:were|was|is|had)",
        r"working backwards?",
        r"reason(?:ing)? backwards?",
        r"assuming (?:this|that|the)",
        r"should (?:show|have|produce|cause)",
        r"predicts?",
    ),
    # revising an earlier verdict or the leading option
    "backtracking": (
        r"wait",
        r"actually",
        r"on (?:second|further) thought",
        r"on (?:closer|second) (?:look|inspection|review|reading)",
        r"on reflection",
        r"in retrospect",
        r"reconsider\w*",
        r"re-?evaluat\w+",
        r"revisit\w*",
        r"initially",
        r"at first",
        r"i (?:first|initially) (?:thought|considered)",
        r"that (?:is|was) (?:wrong|incorrect|a mistake)",
        r"this (?:is|was) (?:wrong|incorrect|a mistake)",
        r"going back",
        r"let me re\w+",
        r"however, on",
    ),
    # explicit sub-goals (phrases); ordinal step markers are matched by STEP_RE
    "subgoal": (
        r"sub-?goals?",
        r"we (?:need|have) to (?:determine|identify|establish|decide|find|work out)",
        r"i (?:need|have) to (?:determine|identify|establish|decide|find|work out)",
        r"the (?:key|main|central|first) (?:question|step|issue|task) is",
        r"key (?:question|step|issue) is",
        r"break (?:this|it) down",
        r"to answer (?:this|the question)",
    ),
}
BEHAVIOURS = tuple(BEHAVIOUR_CUES)

# --- The conclusion -------------------------------------------------------------------------
# A mention of an option right after one of these sets it aside ("D rather than E").
CONTRAST_BEFORE_RE = re.compile(
    r"(?:\b(?:unlike|than|rather than|instead of|versus|vs|compared (?:with|to)|in contrast to"
    r"|as opposed to|over|not|nor|except|besides|other than|apart from|excluding|against)"
    r"|n't)[\s,*(]+(?:(?:the|a|an|option|choice|for|of|even|just|only|that|this)"
    r"[\s*(]+){0,2}$"
)
# Option texts too common to be read as naming the option ("no" in "no fever").
COMMON_OPTION_TEXTS = frozenset(
    "yes no maybe none all both neither true false always never sometimes".split()  # noqa: SIM905
)
# Phrases that leave the answer open, wherever they sit in the conclusion.
HEDGE_RE = re.compile(
    r"\b(?:equally (?:likely|plausible|possible|valid|correct|good|appropriate)"
    r"|also (?:possible|plausible|reasonable|correct|be correct|acceptable|a possibility)"
    r"|(?:could|might|may) also be (?:the |an? )?(?:answer|correct|right|option|choice|"
    r"considered|reasonable|appropriate|possible)"
    r"|or possibly|or perhaps|possibly also"
    r"|cannot (?:decide|choose|be sure|determine which)|hard to (?:decide|choose|say)"
    r"|not sure|unsure|uncertain (?:between|whether)|both (?:are|could be|seem) (?:correct|"
    r"possible|plausible|reasonable|likely))",
    re.DOTALL,
)
# Two options joined as alternatives in the conclusion ("D or E", "either D or E", "D/E"), or
# run together as one answer ("Diabetes mellitus: option A", "Ethanol intoxication (B)").
ALTERNATIVE_RE = re.compile(r"[\s,*():\-–]*(?:(?:and/or|or|/)[\s*()]*)?(?:option\s+|choice\s+)?$")
# A soft rule-out: a verdict on the option itself, said gently ("less likely"). Unlike a bare
# "does not", it is never about a finding, so an option's own block that says it sets the
# option aside as surely as "ruled out" (see ``clinr1.rewards.reading``); "less likely to
# cause bleeding" is about an effect, not a verdict.
SOFT_OUT_RE = re.compile(
    r"\b(?:less (?:likely|appropriate|probable|plausible|consistent|suitable|favou?red|fitting)"
    r"(?! to\b)"
    r"|not (?:favou?red|preferred|the (?:first|best|preferred) (?:choice|option|answer))"
    r"|(?:probably|likely) not|doubtful|a weaker (?:fit|choice|option|candidate))\b"
)
# Clause breaks inside a sentence: a verdict after one of these is about a new subject.
CLAUSE_BREAK_RE = re.compile(
    r";|\||\s[-–—]\s|\b(?:but|however|whereas|while|although|though|yet|in contrast|instead)\b"
)

# --- Negative stems -----------------------------------------------------------------------
# "All of the following EXCEPT", "Which is NOT", "Which statement is false", "least likely".
# ``not`` counts only after "which/what/following" in the lead-in ("Which drug is not used"),
# not in "simple but not used frequently because".
NEGATIVE_STEM_RE = re.compile(
    r"\bexcept\b|\bleast\b|\b(?:false|incorrect|untrue|wrong|inaccurate)\b"
    r"|\b(?:which|what|following)\b[^.?!:]*?\b(?:not|never|cannot)\b|n't\b(?=[^.?!]*\?)",
    re.IGNORECASE,
)

# --- Sub-goal steps ------------------------------------------------------------------------
# An ordinal marker at the start of a sentence or line: "First,", "Step 2:", "3.", "Finally".
STEP_RE = re.compile(
    r"^[\s*#>\-|]*(?:step\s*(\d{1,2})\b|(\d{1,2})[.)](?=\s)"
    r"|(first(?:ly)?|second(?:ly)?|third(?:ly)?|next|then|finally|lastly)\b)"
)

# --- Words ---------------------------------------------------------------------------------
# Function words and question boiler-plate: a quote or n-gram made only of these is no finding.
STOPWORDS = frozenset(
    """a an the of to in on at by for with from and or but if then than as is are was were be
    been being has have had do does did this that these those it its he she his her him they
    them their we you i our your which what who whom whose when where why how not no nor so
    such there here into onto over under about above below after before during while also
    following most likely appropriate next step best true false except correct all any each
    other some more less very can could would should may might will shall must""".split()  # noqa: SIM905
)
# Scene-setting words of a vignette ("A 45-year-old man comes to the physician because of ..."):
# a quote made only of these (and numbers) states no finding, however verbatim.
VIGNETTE_WORDS = frozenset(
    """year years old month months week weeks day days hour hours ago past today currently
    man woman men women boy girl male female infant child patient patients gentleman lady
    comes come came presents present presented presenting brought bring visit visits
    evaluation evaluated physician physicians doctor emergency department office clinic
    hospital admitted because history examination physical shows show showed shown reveals
    revealed studies study laboratory vital signs normal limits within unremarkable reports
    reported complains complaint following further routine appointment seen""".split()  # noqa: SIM905
)
# Verdict and meta vocabulary: a rule-out reason made only of these gives no reason.
VERDICT_WORDS = frozenset(
    """rule rules ruled ruling out exclude excludes excluded eliminate eliminated reject
    rejected discard discarded answer answers choice choices option options verdict correct
    incorrect wrong right unlikely likely supported support supports consistent inconsistent
    fit fits fitting explain explains explained explanation account accounts appropriate
    inappropriate plausible implausible less least best evidence argue argues against point
    points finding findings case scenario presentation picture question therefore thus hence
    clearly overall given pick choose chosen select selected considered consider consistent
    match matches typical reason reasons statement exception odd""".split()  # noqa: SIM905
)
# The words of revising and checking ("at first it seemed attractive", "to verify"): no reason.
META_WORDS = frozenset(
    """initially first seemed seems looked looks attractive tempting reflection wait actually
    reconsider reconsidering second thought thoughts verify verified check checking checked
    confirm confirms confirmed again final finally expect expected working backwards
    assuming described shows""".split()  # noqa: SIM905
)
