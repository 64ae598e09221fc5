"""A completion read against one item: which options it assesses, its verdict on each, the option
its reasoning favours and the options its conclusion names.

How the reasoning section is cut into per-option blocks, in any common format:

* The section is cut into units (lines and sentences, :func:`~clinr1.rewards.text.split_units`)
  and each unit into clauses (at ";", " - ", "but", "whereas", ...).
* A unit whose first mention of an option opens it (within its first 30 characters, after any
  markup: ``Option A (Cladribine): ...``, ``- **B.** ...``, ``| C | ...``, ``To verify, D ...``)
  opens that option's block. Units that name no option continue the open block, so a verdict may
  stand in a sentence of its own ("Ruled out.").
* Each verdict cue goes to the option it is about: the nearest option named before it in its
  clause (with any listed with it: "A, B and C are ruled out"), else one named just after it
  ("the most appropriate is ruxolitinib"), else the unit's own block. A mention set aside by a
  contrast word ("unlike ruxolitinib", "rather than E") never takes a verdict. So a closing check
  of the leading option ("... confirms ruxolitinib is most appropriate") lands on that option,
  not on the block before it. Inside an option's block, another option named after a
  preposition ("B. ...: ferritin is low in iron deficiency, so it is unlikely")
  is a comparison and takes no verdict.
* A short header line that names no option and ends in ":" belongs to no block. When it gives
  a verdict ("**Why the other options are wrong:**", "Ruled out:"), that verdict is read in
  each option block the list under it opens (``- B. ...``, ``Option C: ...``, ``D) ...``), up
  to the next header or the first sentence that opens with an option but is not a list item
  ("Option A therefore remains ..."): a grouped list says its verdict once, for all of its
  options.
* A sentence repeated within one block counts once there; the same sentence in another block
  ("Ruled out." after each option) counts in each.
* On a negative stem (EXCEPT / NOT / false / least likely) fit cues count with the opposite sign:
  the answer is the option the reasoning marks as the exception.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise, takewhile
from typing import Any

from clinr1.rewards.cues import (
    NEGATIVE,
    NEGATIVE_ANSWER_SENSE,
    ORDINARY,
    Cue,
    find_cues,
    is_negative_stem,
    verdict_from,
    verdict_score,
    verdict_sign,
)
from clinr1.rewards.extract import stated_answer
from clinr1.rewards.lexicon import (
    ALTERNATIVE_RE,
    CLAUSE_BREAK_RE,
    HEDGE_RE,
    META_WORDS,
    SOFT_OUT_RE,
    STOPWORDS,
    VERDICT_KINDS,
    VERDICT_WORDS,
)
from clinr1.rewards.options import Mention, find_mentions
from clinr1.rewards.parse import BOX_RE, HARD_CAP_CHARS, Parsed, options_key, parse, strict_answer
from clinr1.rewards.text import EMPTY, WORD_RE, Section, blank_quotes, lower

HEAD_CHARS = 30
# a strong verdict reaches an option named at most this many words after it ("the most
# appropriate choice is to start with ruxolitinib")
FORWARD_WORDS = 6
HEADER_WORDS = 10  # a line this short, naming no option and ending in ":", is a list header
_HEADER_END_RE = re.compile(r"[:?][\s*_`#]*$")
_WHY_NOT_RE = re.compile(r"\bwhy not\b|\bdistractors?\b")
_GOAL_RE = re.compile(
    r"\b(?:to (?:determine|find|identify|choose|decide|select|pick|work out)|let'?s|let us|"
    r"evaluat\w*|consider\w*|go(?:ing)? through|analy[sz]\w*|look(?:ing)? at|assess\w*|"
    r"review\w*|which|what|step)\b"
)
_ITEM_MARK_RE = re.compile(r"\s*(?:[-•+–]|\*(?!\*)|\d+[.)])")
_ITEM_LABEL_END = frozenset(":.)-–—(|")
_PREPOSITIONS = frozenset(
    ["in", "of", "with", "from", "than", "for", "like", "by", "into", "about", "to", "on", "at"]
)
_MARKUP = " \t*#>-|_`•✅✔☑✓❌✗✘✖❎\ufe0f"
_LIST_GAP_RE = re.compile(r"^[\s*]*(?:,|/|&|and|or|nor|,\s*and|,\s*or)?[\s*]*$")


@dataclass(frozen=True, eq=False)
class UnitReading:
    """One unit of a section: its text, the options it names, its cues, and the verdict
    cues it gives each option (after attribution)."""

    index: int
    start: int
    end: int
    low: str  # lower-cased, quoted spans blanked: where mentions and cues are read
    raw: str  # lower-cased, quotes kept: the words of the unit
    mentions: tuple[Mention, ...]
    cues: tuple[Cue, ...]
    owner: str | None  # the block it belongs to (its head mention, else the open block)
    verdicts: dict[str, tuple[Cue, ...]]  # option -> verdict cues attributed to it here
    repeated: bool  # the same text already appeared in the same block (or section, owner None)

    @property
    def letters(self) -> frozenset[str]:
        return frozenset(m.letter for m in self.mentions)


@dataclass(frozen=True, eq=False)
class Assessment:
    """What the reasoning says about one option: ``verdict`` is ``in``, ``out`` or ``none``;
    ``reason`` the content words of its block (less its own name and verdict words)."""

    letter: str
    verdict: str
    score: int
    reason: frozenset[str]
    # a strong verdict flips between sentences with no revision ("wait", "on reflection")
    # between: "B: ...; ruled out." then "so B is the most likely" contradicts itself
    contradicted: bool = False


@dataclass(frozen=True, eq=False)
class Reading:
    """A parsed completion read against one item's options (see :func:`read`)."""

    parsed: Parsed
    options: dict[str, str]
    negative: int  # ORDINARY, NEGATIVE or NEGATIVE_ANSWER_SENSE (clinr1.rewards.cues)
    boxed: str | None
    assessments: dict[str, Assessment]
    dx_favoured: str | None
    conclusion_named: frozenset[str]
    conclusion_hedged: frozenset[str]
    hedge_phrase: bool
    reasoning: tuple[UnitReading, ...]
    conclusion: tuple[UnitReading, ...]

    @property
    def leading(self) -> str | None:
        """The option the completion settles on: the boxed one, else the one its <dx> favours."""
        return self.boxed or self.dx_favoured


def _clause_starts(low: str) -> list[int]:
    return [0, *(m.start() for m in CLAUSE_BREAK_RE.finditer(low))]


def _head(text: str, mentions: list[Mention]) -> Mention | None:
    """The mention a unit opens with (its first mention within ``HEAD_CHARS`` of the start)."""
    lead = len(text) - len(text.lstrip(_MARKUP))
    for m in mentions:
        if m.start - lead > HEAD_CHARS:
            return None
        if not m.contrast:
            return m
    return None


def _is_header(ulow: str, mentions: list[Mention], line_start: bool) -> bool:
    """A header line naming no option: "**Why the other options are wrong:**", "### Incorrect
    options", "Why not the others?", "Key findings:"."""
    if mentions or not line_start or len(ulow.split()) > HEADER_WORDS:
        return False
    body = ulow.strip()
    return (
        _HEADER_END_RE.search(body) is not None
        or body.startswith("#")
        or (body.startswith("**") and body.endswith("**") and body.count("**") == 2)
    )


def _list_verdict(ulow: str, cues: list[Cue]) -> list[Cue]:
    """The verdict a header gives the options listed under it: none when it states a goal
    ("To determine the most likely diagnosis, let's evaluate each option:")."""
    if _GOAL_RE.search(ulow):
        return []
    if _WHY_NOT_RE.search(ulow):  # "Why not the other options?", "Distractors:": rule-outs
        return [Cue(0, 0, "ans-", frozenset())]
    return [c for c in cues if c.verdict is not None]


def _list_item(ulow: str, head: Mention, mentions: list[Mention]) -> bool:
    """Whether a unit opening with ``head`` is an item of a list: a bullet or number before it
    ("- B. ...", "2) ..."), or a label right after it ("B. ...", "Option C: ...", "(D) text -")."""
    if _ITEM_MARK_RE.match(ulow):
        return True
    end = head.end
    for m in mentions:  # "(B) Beta thalassemia minor - ...": the option's text is part of the label
        if m.start >= end and not ulow[end : m.start].strip(" *_"):
            if ulow[m.start] == "(":  # "Cladribine (A) is used ...": named, then labelled
                return True
            end = m.end
    rest = ulow[end:].lstrip(" *_`")
    return rest[:1] in _ITEM_LABEL_END


def _blank_names(low: str, by_unit: dict[int, list[Mention]]) -> str:
    """``low`` with the options' own texts blanked: "Syndrome of inappropriate ADH secretion"
    or "Most appropriate next step" name an option, they give no verdict."""
    spans = [(m.start, m.end) for found in by_unit.values() for m in found if m.by_text]
    if not spans:
        return low
    chars = list(low)
    for s, e in spans:
        chars[s:e] = " " * (e - s)
    return "".join(chars)


def _letter_headed(
    spans: tuple[tuple[int, int], ...], low: str, by_unit: dict[int, list[Mention]]
) -> bool:
    """Whether the section's blocks open with letters: at least two options, and at least as
    many as open sentences by their text."""
    letters, texts = set(), set()
    for i, found in by_unit.items():
        s, e = spans[i]
        local = [Mention(m.start - s, m.end - s, m.letter, m.contrast, m.by_text) for m in found]
        head = _head(low[s:e], local)
        if head is not None:
            (texts if head.by_text else letters).add(head.letter)
    return len(letters) >= max(2, len(texts))


def _in_passing(m: Mention, owner: str | None, after: int, low: str) -> bool:
    """Another option named after a preposition in an option's block ("B. ...: ferritin would
    be low in iron deficiency, so it is unlikely"): a comparison, not the subject of the
    sentence's verdict. ``after``: where the unit's own opening mention ends (0 if none)."""
    if owner is None or m.letter == owner or m.start < after:
        return False
    words = low[max(after, m.start - 12) : m.start].split()
    return bool(words) and words[-1].strip("(*_") in _PREPOSITIONS


def _subjects(
    cue: Cue,
    mentions: list[Mention],
    clause: tuple[int, int],
    low: str,
    owner: str | None,
    after: int,
) -> list[str]:
    """The options a verdict cue is about (see the module docstring); [] for the unit's own."""
    c0, c1 = clause
    mentions = [m for m in mentions if not m.contrast]
    before = [
        m
        for m in mentions
        if c0 <= m.start
        and m.end <= cue.start
        # "low in iron deficiency, so it is unlikely": the comparison is not the subject; but
        # "a diagnosis of imatinib toxicity is unlikely" and "switching to C would be wrong" are
        and not ("," in low[m.end : cue.start] and _in_passing(m, owner, after, low))
    ]
    if before:
        group = [before[-1]]
        for m in reversed(before[:-1]):  # "A, B and C are ruled out": the whole list
            if _LIST_GAP_RE.match(low[m.end : group[-1].start]) is None:
                break
            group.append(m)
        return [m.letter for m in group]
    # Only a verdict that names what follows reaches forward ("the answer is D", "most likely
    # is ruxolitinib"); a weak cue ("cannot speak") never does.
    if cue.verdict is None or VERDICT_KINDS[cue.verdict][2] < 2:
        return []
    after = [m for m in mentions if cue.end <= m.start < c1]
    if after and len(low[cue.end : after[0].start].split()) <= FORWARD_WORDS:
        return [after[0].letter]
    return []


def _read_units(
    section: Section,
    text: str,
    options: tuple[tuple[str, str], ...],
    open_block: bool,
    case: str = "",
) -> tuple[UnitReading, ...]:
    """Every unit of ``section`` (with ``text`` in place of its text, e.g. boxes blanked)."""
    if not section.spans:
        return ()
    raw = lower(text)
    text = blank_quotes(text)
    low = lower(text)
    starts, spans = section.starts, section.spans
    by_unit: dict[int, list[Mention]] = {}
    for m in find_mentions(text, options, case):
        i = bisect_right(starts, m.start) - 1
        if i >= 0 and m.start < spans[i][1]:
            by_unit.setdefault(i, []).append(m)
    cues_by_unit: dict[int, list[Cue]] = {}
    blanked = _blank_names(low, by_unit)  # "0.15 - 1.5 mm" holds no clause break either
    for cue in find_cues(blanked):
        i = bisect_right(starts, cue.start) - 1
        if i >= 0:
            cues_by_unit.setdefault(i, []).append(cue)
    by_letter = _letter_headed(spans, low, by_unit)
    rows: list[tuple[Any, ...]] = []
    current: str | None = None
    list_cues: list[Cue] = []  # the verdict of the list header above, for each block it opens
    listed: dict[int, tuple[str, list[Cue]]] = {}  # unit -> (option, header cues) of list items
    seen: set[tuple[str | None, str]] = set()
    for i, (s, e) in enumerate(spans):
        ulow = low[s:e]
        uraw = raw[s:e]
        # positions relative to the unit from here on
        mentions = [
            Mention(m.start - s, m.end - s, m.letter, m.contrast, m.by_text)
            for m in by_unit.get(i, [])
        ]
        cues = [
            Cue(c.start - s, c.end - s, c.verdict, c.behaviours, c.negator)
            for c in cues_by_unit.get(i, [])
        ]
        found = _head(ulow, mentions)
        # Where blocks open with letters ("B. ...", "Option B"), an option's text opening a
        # sentence inside a block ("Prolactin is ...") names it in passing.
        head = None if found is None or (found.by_text and by_letter) else found.letter
        header = _is_header(ulow, mentions, s == 0 or text[s - 1] == "\n")
        if header:
            list_cues = _list_verdict(ulow, cues)
            if list_cues:  # a verdict header starts a list: it is not the open block's
                current = None
        elif head is not None and list_cues and not _list_item(ulow, found, mentions):
            list_cues = []  # "Option A therefore remains ...": the list has ended
        if head is not None and open_block:
            current = head
            if list_cues:
                listed[i] = (head, list_cues)
        owner = None if header else head if head is not None else current
        key = (owner, " ".join(uraw.split()))  # a sentence repeated, whitespace aside
        repeated = key in seen
        seen.add(key)
        verdicts: dict[str, list[Cue]] = {}
        if not repeated and not header:  # a header's words are a list's verdict or a goal
            bounds = _clause_starts(blanked[s:e])
            for cue in cues:
                if cue.verdict is None:
                    continue
                k = bisect_right(bounds, cue.start) - 1
                clause = (bounds[k], bounds[k + 1] if k + 1 < len(bounds) else len(ulow))
                after = found.end if head is not None and found is not None else 0
                for letter in _subjects(cue, mentions, clause, ulow, owner, after) or [owner]:
                    if letter is not None:
                        verdicts.setdefault(letter, []).append(cue)
        rows.append((i, s, e, ulow, uraw, mentions, cues, owner, verdicts, repeated))
    # A listed block with no strong verdict of its own takes its header's, read where the block
    # opens (so that a first impression it overturns still counts as a revision).
    for i, (letter, header_cues) in listed.items():
        block = takewhile(lambda row, k=letter: row[7] == k, rows[i:])
        if not any(verdict_score(row[8].get(letter, ()), strong_only=True)[1] for row in block):
            rows[i][8][letter] = [*header_cues, *rows[i][8].get(letter, [])]
    return tuple(
        UnitReading(
            index=i,
            start=s,
            end=e,
            low=ulow,
            raw=uraw,
            mentions=tuple(mentions),
            cues=tuple(cues),
            owner=owner,
            verdicts={k: tuple(v) for k, v in verdicts.items()},
            repeated=repeated,
        )
        for i, s, e, ulow, uraw, mentions, cues, owner, verdicts, repeated in rows
    )


def _reason_words(units: list[UnitReading], letter: str, options: dict[str, str]) -> frozenset[str]:
    """The content words of ``letter``'s block, less its own name, verdict vocabulary and the
    words of revising or checking ("at first it seemed attractive")."""
    drop = set(WORD_RE.findall(lower(options.get(letter, "")))) | {letter.lower()}
    drop |= STOPWORDS | VERDICT_WORDS | META_WORDS
    return frozenset(
        w for u in units for w in WORD_RE.findall(u.raw) if len(w) > 1 and w not in drop
    )


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


def _revises(u: UnitReading) -> bool:
    return any("backtracking" in c.behaviours for c in u.cues)


def _revised_for(letter: str, recent: list[UnitReading]) -> bool:
    """A revision in the last few units that is about ``letter``: in the unit itself, or in
    one naming it or no option ("Wait." then "C fits best"), not in another option's block."""
    return any(
        _revises(r) and (r is recent[-1] or not r.letters or letter in r.letters) for r in recent
    )


def _assess(
    units: tuple[UnitReading, ...], options: dict[str, str], negative: int
) -> dict[str, Assessment]:
    blocks: dict[str, list[UnitReading]] = {}
    cues: dict[str, list[Cue]] = {}
    last_sign: dict[str, int] = {}
    contradicted: set[str] = set()
    aside: set[str] = set()  # options their own sentence set aside softly ("less likely")
    recent: list[UnitReading] = []  # this sentence and the two before it
    for u in units:
        if u.repeated:
            continue
        if u.owner is not None:
            blocks.setdefault(u.owner, []).append(u)
        recent = [*recent[-2:], u]
        revised = any(map(_revises, recent))
        soft_out = bool(SOFT_OUT_RE.search(u.low))
        for letter, attributed in u.verdicts.items():
            cues.setdefault(letter, []).extend(attributed)
            total, last = verdict_score(attributed, negative, strong_only=True)
            sign = _sign(total) or last
            if sign and last_sign.get(letter, sign) != sign and not revised:
                contradicted.add(letter)
            if sign:
                last_sign[letter] = sign
            # Set aside softly in its own sentence, taken up later with no revision between:
            # a policy can call every option "less likely" and box one anyway. Only a soft
            # verdict phrase sets aside; a bare "does not" may be about a finding.
            soft = verdict_sign(attributed, negative)  # weak cues count when no strong one
            if soft > 0 and letter in aside and not _revised_for(letter, recent):
                contradicted.add(letter)
            if soft < 0 and soft_out and letter == u.owner:
                aside.add(letter)
            elif soft > 0:
                aside.discard(letter)
    out = {}
    for letter in options:
        if letter not in blocks and letter not in cues:
            continue
        found = cues.get(letter, [])
        score, _ = verdict_score(found, negative)
        out[letter] = Assessment(
            letter,
            verdict_from(found, negative),
            score,
            _reason_words(blocks.get(letter, []), letter, options),
            letter in contradicted,
        )
    return out


def _favoured(assessments: dict[str, Assessment], options: dict[str, str]) -> str | None:
    ins = [k for k, a in assessments.items() if a.verdict == "in"]
    if len(ins) == 1:
        return ins[0]
    if len(ins) > 1:  # one ruled in far more strongly than the rest ("best" vs "fits")
        top = sorted(ins, key=lambda k: -assessments[k].score)
        if assessments[top[0]].score >= 2 * max(1, assessments[top[1]].score):
            return top[0]
        return None
    not_out = [k for k in options if k not in assessments or assessments[k].verdict != "out"]
    return not_out[0] if len(not_out) == 1 else None


def _clarity(assessments: dict[str, Assessment], favoured: str | None) -> tuple[bool, int]:
    """How cleanly a reading picks one option: one favoured and not self-contradicting, then
    how many others it rules out without contradicting itself."""
    picked = favoured is not None and not assessments[favoured].contradicted
    outs = sum(a.verdict == "out" and not a.contradicted for a in assessments.values())
    return picked, outs


def _conclusion(
    units: tuple[UnitReading, ...],
    blanked: str,
    options: dict[str, str],
    boxed: str | None,
    negative: int,
) -> tuple[frozenset[str], frozenset[str], bool]:
    """(options named in the answer's favour, other options argued for or left open as
    alternatives, whether a hedge phrase is used). Explaining why another option is wrong
    ("imatinib is for CML") is no hedge."""
    named: set[str] = set()
    hedged: set[str] = set()
    for u in units:
        kept = [m for m in u.mentions if not m.contrast]
        for m in kept:
            score, _ = verdict_score(u.verdicts.get(m.letter, ()), negative)
            if m.letter == boxed and score >= 0:
                named.add(m.letter)
            elif m.letter != boxed and score > 0:  # another option argued for
                hedged.add(m.letter)
        for a, b in pairwise(kept):  # "D or E", "X (option A)": two answers in one
            if a.letter == b.letter or not ALTERNATIVE_RE.match(u.low[a.end : b.start]):
                continue
            scores = [verdict_score(u.verdicts.get(m.letter, ()), negative)[0] for m in (a, b)]
            if min(scores) >= 0:  # "A, B and C are ruled out" lists, it does not hedge
                hedged.update({a.letter, b.letter} - {boxed})
    stated = stated_answer(blanked, options)
    if stated is not None:
        named.add(stated)
        if boxed is not None and stated != boxed:
            hedged.add(stated)  # "the answer is B ... \boxed{A}": two answers
    return frozenset(named), frozenset(hedged), bool(HEDGE_RE.search(lower(blanked)))


@lru_cache(maxsize=2048)
def _read(
    text: str,
    template: str,
    options_key_: tuple[tuple[str, str], ...],
    negative: int,
    case: str = "",
) -> Reading:
    parsed = parse(text, template)
    options = dict(options_key_)
    boxed = strict_answer(parsed, options)
    assessments: dict[str, Assessment] = {}
    favoured = None
    named: frozenset[str] = frozenset()
    hedged: frozenset[str] = frozenset()
    hedge_phrase = False
    dx_units: tuple[UnitReading, ...] = ()
    concl_units: tuple[UnitReading, ...] = ()
    if parsed.well_formed and parsed.length <= HARD_CAP_CHARS:
        dx = parsed.reasoning
        dx_units = _read_units(dx, dx.text, options_key_, open_block=True, case=case)
        assessments = _assess(dx_units, options, negative)
        favoured = _favoured(assessments, options)
        if negative:
            # "❌ Incorrect" on three options and "✅ Correct" on one: correct/incorrect name the
            # answer here, not the statements' truth; read so when that reads more cleanly.
            other = _assess(dx_units, options, NEGATIVE_ANSWER_SENSE)
            chosen = _favoured(other, options)
            if _clarity(other, chosen) > _clarity(assessments, favoured):
                negative, assessments, favoured = NEGATIVE_ANSWER_SENSE, other, chosen
        concl = parsed.conclusion
        if concl is not EMPTY:
            blanked = BOX_RE.sub(lambda m: " " * len(m.group(0)), concl.text)
            concl_units = _read_units(concl, blanked, options_key_, open_block=True, case=case)
            named, hedged, hedge_phrase = _conclusion(
                concl_units, blanked, options, boxed, negative
            )
    return Reading(
        parsed=parsed,
        options=options,
        negative=negative,
        boxed=boxed,
        assessments=assessments,
        dx_favoured=favoured,
        conclusion_named=named,
        conclusion_hedged=hedged,
        hedge_phrase=hedge_phrase,
        reasoning=dx_units,
        conclusion=concl_units,
    )


def read(
    text: str, options: Any, template: str = "crpo", negative: bool = False, case: str = ""
) -> Reading:
    """Read ``text`` against an item's ``options`` (cached: the suite reads it once).

    ``negative``: the question is a negative stem (:func:`is_negative_stem`); ``case``: its
    text, where an option's short form that is the case's own words names nothing.

    >>> r = read("<dx>A. Cladribine: hairy cell leukemia drug. Ruled out.\\n"
    ...          "B. Ruxolitinib: JAK2 inhibitor; most appropriate.</dx>"
    ...          "<conclusion>Answer: B \\\\boxed{B}</conclusion>",
    ...          {"A": "Cladribine", "B": "Ruxolitinib"})
    >>> {k: a.verdict for k, a in r.assessments.items()}, r.dx_favoured, sorted(r.conclusion_named)
    ({'A': 'out', 'B': 'in'}, 'B', ['B'])
    """
    return _read(text, template, options_key(options), NEGATIVE if negative else ORDINARY, case)


def clear_caches() -> None:
    """Empty the parse and reading caches (benchmarks start cold; memory can be returned)."""
    from clinr1.rewards import grounding
    from clinr1.rewards import options as options_module
    from clinr1.rewards import parse as parse_module

    for cached in (
        parse_module.parse,
        _read,
        is_negative_stem,
        options_module.option_matcher,
        grounding.case_model,
        grounding.check_quotes,
    ):
        cached.cache_clear()
