r"""The one parser of a completion: every reward and the evaluation read text through it.

Two levels, both cached so that the reward suite parses each completion once:

* :func:`parse` (item-independent): the template's sections (``crpo``: ``<dx>``,
  ``<conclusion>``; ``r1``: ``<think>``, ``<answer>``; ``plain``: body and last paragraph),
  whether they are well formed, the text outside them, every ``\boxed{...}``, the quoted spans
  of the reasoning section, and its sentences ("units").
* :func:`read` (against one item): mentions of each option (``Option A``, ``(A)``, ``A)``, a
  line-initial ``A.``/``A:``, or the option's own text), the ``<dx>`` cut into one block per
  option with a verdict (ruled in / ruled out / not assessed) and whether it gives a reason, the
  option the ``<dx>`` favours, and the options the conclusion names.

>>> p = parse('<dx>"fever for 3 days" Option A: ruled out.</dx><conclusion>\\boxed{B}</conclusion>')
>>> p.well_formed, p.quotes, [b.content for b in p.boxes]
(True, ('fever for 3 days',), ['B'])
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

from clinr1.prompts import SECTIONS
from clinr1.rewards.lexicon import (
    CONTRAST_RE,
    CUE_KINDS,
    CUE_RE,
    CUE_SEPARATORS,
    NEGATED_RE,
    STOPWORDS,
)

# Above this many characters a completion is not analysed further (faithfulness and
# comprehensiveness are 0 there anyway, see ``length_factor``).
HARD_CAP_CHARS = 18_000
SOFT_CAP_CHARS = 12_000
MIN_REASON_WORDS = 5
# Completions kept parsed: TRL calls each reward over a whole generation batch in turn, so the
# cache must hold one batch for the rewards to share a parse (about 15 kB each at 1,500 tokens).
CACHE_SIZE = 2048

BOX_CMD_RE = re.compile(r"\\boxed\b")
BOX_RE = re.compile(r"\\boxed\s*\{((?:[^{}]|\{[^{}]*\})*)\}")
QUOTE_RE = re.compile(r'"([^"\n]{1,600})"|“([^”\n]{1,600})”')
_STRAIGHT_QUOTE_RE = re.compile(r'"([^"\n]{1,600})"')
_CURLY_QUOTE_RE = re.compile(r"“([^”\n]{1,600})”")
# A unit (sentence or line): from a non-space character to a line end, or to ".", "!" or "?"
# followed by whitespace ("6.4 g/dL" and "e.g." do not end one).
UNIT_RE = re.compile(r"[^\s][^.!?\n]*(?:[.!?]+(?=\S)[^.!?\n]*)*[.!?]*")
PARAGRAPH_RE = re.compile(r"\n\s*\n")
WORD_RE = re.compile(r"[^\W_]+")
_TAG_RES = {
    name: re.compile(r"<\s*(/?)\s*(" + "|".join(tags) + r")\s*>", re.IGNORECASE)
    for name, tags in SECTIONS.items()
    if tags
}


def normalise(text: str) -> str:
    """Lower-case, punctuation to spaces, whitespace collapsed: the form quotes are matched in.

    >>> normalise("Hemoglobin 6.4 g/dL;  JAK-2 (+)")
    'hemoglobin 6 4 g dl jak 2'
    """
    return " ".join(WORD_RE.findall(text.lower()))


def content_ngrams(words: list[str] | tuple[str, ...], n: int = 3) -> set[tuple[str, ...]]:
    """Word n-grams holding at least one content word (not a stopword, or a number)."""
    out = set()
    for i in range(len(words) - n + 1):
        gram = tuple(words[i : i + n])
        if any(w not in STOPWORDS for w in gram):
            out.add(gram)
    return out


def shares_ngram(
    words: list[str], grams: frozenset[tuple[str, ...]] | set[tuple[str, ...]]
) -> bool:
    """Whether any word 3-gram of ``words`` is in ``grams``."""
    return any((words[i], words[i + 1], words[i + 2]) in grams for i in range(len(words) - 2))


def shares_pair(words: list[str], pairs: frozenset[tuple[str, str]]) -> bool:
    """Whether any two adjacent ``words`` are a pair in ``pairs``."""
    return any((words[i], words[i + 1]) in pairs for i in range(len(words) - 1))


@lru_cache(maxsize=1024)
def case_pairs(question: str, context: str = "") -> frozenset[tuple[str, str]]:
    """Adjacent content-word pairs of the case ("extensive fibrosis", "jak 2"), cached per
    question: a sentence sharing one refers to a finding of the case."""
    words = normalise(f"{question} {context}").split()
    return frozenset(
        (a, b) for a, b in pairwise(words) if a not in STOPWORDS and b not in STOPWORDS
    )


def completion_text(completion: Any) -> str:
    """The text of one TRL completion: a string, or a list of chat messages (the assistant's).

    >>> completion_text([{"role": "assistant", "content": "hi"}])
    'hi'
    """
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return _content(completion.get("content"))
    if isinstance(completion, (list, tuple)):
        msgs = [m for m in completion if isinstance(m, Mapping)]
        said = [m for m in msgs if m.get("role", "assistant") == "assistant"] or msgs
        return "\n".join(_content(m.get("content")) for m in said)
    return str(completion)


def _content(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, (list, tuple)):  # multimodal parts
        return "".join(
            str(p.get("text") or "") if isinstance(p, Mapping) else str(p) for p in content
        )
    return str(content)


@dataclass(frozen=True, eq=False)
class Box:
    content: str
    start: int
    in_conclusion: bool


@dataclass(frozen=True, eq=False)
class Section:
    """A section's text cut into units (sentences and lines), with each unit's span."""

    text: str
    spans: tuple[tuple[int, int], ...]
    starts: tuple[int, ...]

    def unit(self, i: int) -> str:
        s, e = self.spans[i]
        return self.text[s:e]


def _section(text: str) -> Section:
    spans = tuple(m.span() for m in UNIT_RE.finditer(text))
    return Section(text, spans, tuple(s for s, _ in spans))


EMPTY = _section("")


@dataclass(frozen=True, eq=False)
class Parsed:
    """A completion cut along its template (see :func:`parse`).

    ``well_formed``: each section tag opens and closes exactly once, in the template's order,
    with nothing nested (``plain``: the text is not blank). ``reasoning``/``conclusion`` are
    ``<dx>``/``<conclusion>`` (``r1``: ``<think>``/``<answer>``; ``plain``: all but the last
    paragraph / the last paragraph), empty when not well formed. ``outside`` is the text outside
    the sections (``plain``: after the last box). ``n_box_commands`` counts every ``\\boxed``,
    closed or not; ``boxes`` the complete ones. ``quotes`` are the double-quoted spans (straight or
    curly) of the reasoning section.
    """

    text: str
    template: str
    well_formed: bool
    sections: dict[str, str]
    reasoning: Section
    conclusion: Section
    outside: str
    n_box_commands: int
    boxes: tuple[Box, ...]
    quotes: tuple[str, ...]

    @property
    def length(self) -> int:
        return len(self.text)


@lru_cache(maxsize=CACHE_SIZE)
def parse(text: str, template: str = "crpo") -> Parsed:
    """Cut ``text`` along ``template``'s sections; never raises on any string."""
    tags = SECTIONS.get(template, ())
    boxes_raw = [(m.group(1), m.start()) for m in BOX_RE.finditer(text)]
    n_cmds = len(BOX_CMD_RE.findall(text))
    sections: dict[str, str] = {}
    well_formed = False
    outside = ""
    reasoning = conclusion = ""
    concl_span = (0, 0)
    if tags:
        events = [
            (m.start(), m.end(), bool(m.group(1)), m.group(2).lower())
            for m in _TAG_RES[template].finditer(text)
        ]
        expected = [(closing, tag) for tag in tags for closing in (False, True)]
        well_formed = [(c, t) for _, _, c, t in events] == expected
        for i, (_, end, closing, tag) in enumerate(events):  # lenient: first complete pair
            if closing or tag in sections:
                continue
            close = next((e for e in events[i + 1 :] if e[2] and e[3] == tag), None)
            if close is not None:
                sections[tag] = text[end : close[0]]
        if well_formed:
            reasoning = text[events[0][1] : events[1][0]]
            conclusion = text[events[2][1] : events[3][0]]
            concl_span = (events[2][1], events[3][0])
            outside = text[: events[0][0]] + " " + text[events[1][1] : events[2][0]]
            outside += " " + text[events[3][1] :]
    else:
        body = text.strip()
        well_formed = bool(body)
        paragraphs = PARAGRAPH_RE.split(body)
        if len(paragraphs) > 1:
            conclusion = paragraphs[-1]
            reasoning = body[: len(body) - len(conclusion)]
        else:
            cut = max(body.rfind(". "), body.rfind("\n"))
            reasoning, conclusion = (body[: cut + 1], body[cut + 1 :]) if cut > 0 else ("", body)
        concl_span = (text.rfind(conclusion), len(text)) if conclusion else (0, 0)
        last_box = list(BOX_RE.finditer(text))
        outside = text[last_box[-1].end() :] if last_box else ""
    boxes = tuple(Box(c, s, concl_span[0] <= s < concl_span[1]) for c, s in boxes_raw)
    quotes: tuple[str, ...] = ()
    if reasoning:  # two literal-prefixed scans are faster than one alternation
        quotes = tuple(_STRAIGHT_QUOTE_RE.findall(reasoning))
        if "“" in reasoning:
            quotes += tuple(_CURLY_QUOTE_RE.findall(reasoning))
    return Parsed(
        text=text,
        template=template,
        well_formed=well_formed,
        sections=sections,
        reasoning=_section(reasoning) if reasoning else EMPTY,
        conclusion=_section(conclusion) if conclusion else EMPTY,
        outside=outside,
        n_box_commands=n_cmds,
        boxes=boxes,
        quotes=quotes,
    )


# --- boxed letters ------------------------------------------------------------------------
_BOX_WRAP_RE = re.compile(r"^\\(?:text|textbf|mathrm|mathbf|mbox)\s*\{(.*)\}$", re.DOTALL)
_STRICT_LETTER_RE = re.compile(r"^\(?\s*([A-Za-z])\s*\)?\.?$")


def box_letter(content: str) -> str | None:
    r"""The single letter a box holds (``C``, ``(C)``, ``C.``, ``\text{C}``), else ``None``.

    >>> box_letter(r"\text{(c)}"), box_letter("A, C"), box_letter("AC")
    ('C', None, None)
    """
    s = content.strip()
    m = _BOX_WRAP_RE.match(s)
    if m:
        s = m.group(1).strip()
    m = _STRICT_LETTER_RE.match(s)
    return m.group(1).upper() if m else None


def strict_answer(parsed: Parsed, options: Mapping[str, str]) -> str | None:
    """The boxed letter, when there is exactly one ``\\boxed`` holding one option letter."""
    if parsed.n_box_commands != 1 or len(parsed.boxes) != 1:
        return None
    letter = box_letter(parsed.boxes[0].content)
    return letter if letter in options else None


def gold_letter(answer: Any, options: Mapping[str, str]) -> str | None:
    """The gold letter from an ``answer`` column: a letter, or (leniently) an option's text."""
    if answer is None:
        return None
    s = str(answer).strip()
    if s.upper() in options:
        return s.upper()
    key = normalise(s)
    hits = [k for k, v in options.items() if key and normalise(v) == key]
    return hits[0] if len(hits) == 1 else None


# --- option mentions ----------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class OptionMatcher:
    letters: str
    letter_res: tuple[re.Pattern[str], ...]  # each starts with a literal: fast to scan
    bare_res: tuple[re.Pattern[str], ...]  # "A)", "A.", "A:" (context checked in Python)
    texts: tuple[tuple[str, str], ...]  # (lower-cased text, letter), longest first


_LINE_START_OK = frozenset("\n.!?:;")
_WORD_START = {"p": "Oo", "P": "O", "h": "Cc"}  # "ption" -> Option/option, "hoice" -> Choice


@lru_cache(maxsize=1024)
def option_matcher(options: tuple[tuple[str, str], ...]) -> OptionMatcher:
    letters = "".join(k for k, _ in options if len(k) == 1 and k.isalpha() and k.isupper())
    letter_res: tuple[re.Pattern[str], ...] = ()
    bare_res: tuple[re.Pattern[str], ...] = ()
    if letters:
        c = f"[{letters}]"
        letter_res = (  # "Option A", "option (B)", "OPTION C", "Choice D": the first letter is
            # checked in find_mentions, so each pattern starts with a literal (fast to scan)
            *(re.compile(rf"{tail}s?\s*\(?({c})\)?(?!\w)") for tail in ("ption", "PTION", "hoice")),
            re.compile(rf"\(({c})\)"),
        )
        bare_res = tuple(re.compile(rf"{letter}[).:]") for letter in letters)
    seen: dict[str, list[str]] = {}
    for k, v in options:
        t = " ".join(v.lower().split()).strip(" .,;:\"'“”")
        if len(t) >= 3 and any(ch.isalpha() for ch in t) and len(t) <= 120:
            seen.setdefault(t, []).append(k)
    texts = tuple(
        sorted(((t, ks[0]) for t, ks in seen.items() if len(ks) == 1), key=lambda x: -len(x[0]))
    )
    return OptionMatcher(letters, letter_res, bare_res, texts)


def lower(text: str) -> str:
    """``text.lower()`` with the same length, so offsets carry over ("İ" lowers to two chars)."""
    low = text.lower()
    if len(low) != len(text):
        low = "".join(ch.lower()[:1] for ch in text)
    return low


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _bare_ok(text: str, start: int, end: int, mark: str, n: int) -> bool:
    """``A)`` not inside a word or formula; ``A.``/``A:`` opening a line or sentence."""
    prev = text[start - 1] if start else "\n"
    if mark == ")":
        return not (_is_word(prev) or prev in "({\\")
    if end < n and not text[end].isspace():
        return False
    j = start - 1
    while j >= 0 and text[j] in " \t*#>-":
        j -= 1
    return j < 0 or text[j] in _LINE_START_OK


def find_mentions(text: str, options: Mapping[str, str]) -> list[tuple[int, str]]:
    """``(position, letter)`` of every mention of an option in ``text``, in order.

    Letter forms: ``Option A``/``Choice A`` (any case of the word, ``Options``), ``(A)``, ``A)``
    not inside a word, and ``A.``/``A:`` opening a line or sentence; text forms: the option's
    own text, whole words, case-insensitive (the longest option text wins an overlap).

    >>> opts = {"A": "x", "B": "y", "C": "Prednisone"}
    >>> find_mentions("Option A is wrong; (B) fits. Prednisone too.", opts)
    [(0, 'A'), (19, 'B'), (29, 'C')]
    """
    matcher = option_matcher(tuple(options.items()))
    found: list[tuple[int, str]] = []
    claimed: list[tuple[int, int]] = []
    for rx in matcher.letter_res:
        for m in rx.finditer(text):
            start, end = m.span()
            if text[start] != "(":  # "ption" etc.: check the word's first letter
                if (
                    start == 0
                    or text[start - 1] not in _WORD_START[text[start]]
                    or (start > 1 and _is_word(text[start - 2]))
                ):
                    continue
                start -= 1
            if not any(s < end and start < e for s, e in claimed):
                found.append((start, m.group(1)))
                claimed.append((start, end))
    n = len(text)
    for rx in matcher.bare_res:
        for m in rx.finditer(text):
            start, end = m.span()
            letter, mark = m.group()
            if _bare_ok(text, start, end, mark, n) and not any(s <= start < e for s, e in claimed):
                found.append((start, letter))
                claimed.append((start, end))
    if matcher.texts:
        low = lower(text)
        for t, letter in matcher.texts:
            start = low.find(t)
            while start != -1:
                end = start + len(t)
                if (
                    (start == 0 or not _is_word(low[start - 1]))
                    and (end == len(low) or not _is_word(low[end]))
                    and not any(s < end and start < e for s, e in claimed)
                ):
                    found.append((start, letter))
                    claimed.append((start, end))
                start = low.find(t, end)
    found.sort()
    return found


# --- cues ---------------------------------------------------------------------------------
def find_cues(text: str) -> list[tuple[int, int, frozenset[str]]]:
    """``(start, end, kinds)`` of every verdict and behaviour cue in ``text`` (lower-cased).

    Kinds are ``in1``/``in2``/``out1``/``out2`` (verdicts, weight 1 or 2) and the behaviour
    names of :data:`clinr1.rewards.lexicon.BEHAVIOUR_CUES`.

    >>> [sorted(kinds) for _, _, kinds in find_cues("ruled out; consistent with the findings.")]
    [['out2'], ['in1', 'verification']]
    """
    if not text.isascii():  # str.translate is slow on wide strings; cues are ASCII, offsets kept
        text = text.replace("’", "'").encode("ascii", "replace").decode("ascii")
    padded = " " + text.translate(CUE_SEPARATORS)  # each match starts at the space before a cue
    return [(m.start(), m.end() - 1, CUE_KINDS[m.lastgroup or ""]) for m in CUE_RE.finditer(padded)]


def _verdict(low: str, cues: list[tuple[int, int, frozenset[str]]]) -> str:
    score, last = 0, 0
    for start, _, kinds in cues:
        for kind in kinds:
            if kind[-1] not in "12" or kind[:2] not in ("in", "ou"):
                continue
            weight = 2 if kind[-1] == "2" else 1
            sign = 1 if kind.startswith("in") else -1
            if kind != "out1" and NEGATED_RE.search(low, max(0, start - 24), start):
                if sign < 0:
                    continue  # "cannot be ruled out": no verdict
                sign = -1  # "not consistent with": a rule-out
            score += sign * weight
            last = sign
    if score == 0:
        return {1: "in", -1: "out"}.get(last, "none")
    return "in" if score > 0 else "out"


def verdict_of(text: str) -> str:
    """``in``, ``out`` or ``none``: the weighted verdict cues of one option's block of text.

    Strong cues ("ruled out", "most likely") weigh 2, weak ones ("does not", "consistent
    with") 1; a negated support cue is a rule-out, a negated strong rule-out is nothing; the sign
    of the sum decides, a tie goes to the last cue.

    >>> verdict_of("Used for hairy cell leukemia, not myelofibrosis; ruled out.")
    'out'
    >>> verdict_of("Not consistent with the marrow findings.")
    'out'
    >>> verdict_of("Cannot be ruled out; it is the most likely diagnosis.")
    'in'
    """
    low = lower(text)
    return _verdict(low, find_cues(low))


# --- the reading of one completion against one item ---------------------------------------
@dataclass(frozen=True, eq=False)
class Assessment:
    """What the ``<dx>`` says about one option: ``verdict`` is ``in``, ``out`` or ``none``;
    ``units`` are the ``[start, end)`` unit ranges of its block."""

    letter: str
    verdict: str
    reasoned: bool
    units: tuple[tuple[int, int], ...]


@dataclass(frozen=True, eq=False)
class SectionReading:
    """A section's units (sparse, by unit index): the options each names, the cue kinds each
    holds, the (offset, letter) of each unit's first mention, and the units repeating an
    earlier one."""

    section: Section
    lower: str
    letters: dict[int, frozenset[str]]
    cues: dict[int, frozenset[str]]
    first: dict[int, tuple[int, str]]
    repeated: frozenset[int]
    cue_spans: tuple[tuple[int, int, frozenset[str], int], ...]  # (start, end, kinds, unit)


NONE: frozenset[str] = frozenset()
EMPTY_READING = SectionReading(EMPTY, "", {}, {}, {}, frozenset(), ())


@dataclass(frozen=True, eq=False)
class Reading:
    """A parsed completion read against one item's options (see :func:`read`)."""

    parsed: Parsed
    options: dict[str, str]
    boxed: str | None
    assessments: dict[str, Assessment]
    dx_favoured: str | None
    conclusion_named: frozenset[str]
    conclusion_hedged: frozenset[str]
    reasoning: SectionReading
    conclusion: SectionReading


def _read_section(section: Section, text: str, options: Mapping[str, str]) -> SectionReading:
    if not section.spans:
        return EMPTY_READING
    low = lower(text)
    starts, spans = section.starts, section.spans
    letters: dict[int, set[str]] = {}
    first: dict[int, tuple[int, str]] = {}
    for pos, letter in find_mentions(text, options):
        i = bisect_right(starts, pos) - 1
        if i >= 0 and pos < spans[i][1]:
            letters.setdefault(i, set()).add(letter)
            if i not in first:
                s, e = spans[i]
                lead = (e - s) - len(text[s:e].lstrip(" \t*#>-"))
                first[i] = (pos - s - lead, letter)
    cue_spans = []
    cues: dict[int, set[str]] = {}
    for start, end, kinds in find_cues(low):
        i = bisect_right(starts, start) - 1
        if i >= 0:
            if i in cues:
                cues[i].update(kinds)
            else:
                cues[i] = set(kinds)
            cue_spans.append((start, end, kinds, i))
    keys = [low[s:e] for s, e in spans]
    repeated: frozenset[int] = NONE  # type: ignore[assignment]
    if len(set(keys)) < len(keys):
        index: dict[str, int] = {}
        repeated = frozenset(i for i, k in enumerate(keys) if index.setdefault(k, i) != i)
    return SectionReading(
        section,
        low,
        {i: frozenset(x) for i, x in letters.items()},
        {i: frozenset(x) for i, x in cues.items()},
        first,
        repeated,
        tuple(cue_spans),
    )


def _blocks(r: SectionReading) -> dict[str, list[tuple[int, int]]]:
    """Units of the reasoning grouped by the option they assess, as ``[start, end)`` ranges.

    A unit belongs to the option it names first when that name opens the unit (within its first
    30 characters: a header such as ``Option A (Cladribine): ...``), or to the only option it
    names when no block is open; a unit naming no option continues the open block. Repeated
    units are skipped by the readers of the blocks.
    """
    blocks: dict[str, list[tuple[int, int]]] = {}
    current: str | None = None
    opened = 0
    for i in sorted(r.first):
        if i in r.repeated:
            continue
        offset, letter = r.first[i]
        if offset <= 30 or (current is None and len(r.letters[i]) == 1):
            if current is not None:
                blocks.setdefault(current, []).append((opened, i))
            current, opened = letter, i
    if current is not None:
        blocks.setdefault(current, []).append((opened, len(r.section.spans)))
    return blocks


_PUNCT = ".,;:!?()[]{}\"'“”*-–—/"


def _reason_key(
    r: SectionReading, ranges: list[tuple[int, int]], options: Mapping[str, str], letter: str
) -> str:
    """The first words (300 characters) of the block less the option's own name: its reason,
    compared across blocks."""
    low = letter.lower()
    drop = {"option", low, f"({low})", f"{low})", f"{low}.", f"{low}:"}
    drop.update(w.strip(_PUNCT) for w in options.get(letter, "").lower().split())
    spans = r.section.spans
    i0, i1 = ranges[0]
    chunk = r.lower[spans[i0][0] : spans[min(i1, i0 + 4) - 1][1]][:300]
    words = [w for w in (x.strip(_PUNCT) for x in chunk.split()) if w]
    return " ".join(w for w in words if w not in drop)


@lru_cache(maxsize=CACHE_SIZE)
def _read(text: str, template: str, options_key: tuple[tuple[str, str], ...]) -> Reading:
    parsed = parse(text, template)
    options = dict(options_key)
    boxed = strict_answer(parsed, options)
    assessments: dict[str, Assessment] = {}
    favoured = None
    named: frozenset[str] = frozenset()
    hedged: frozenset[str] = frozenset()
    dx_reading = concl_reading = EMPTY_READING
    if parsed.well_formed and parsed.length <= HARD_CAP_CHARS:
        dx = parsed.reasoning
        dx_reading = _read_section(dx, dx.text, options)
        blocks = _blocks(dx_reading)
        owner: dict[int, str] = {}
        for letter, ranges in blocks.items():
            for i0, i1 in ranges:
                owner.update(dict.fromkeys(range(i0, i1), letter))
        block_cues: dict[str, list[tuple[int, int, frozenset[str]]]] = {}
        for start, end, kinds, unit in dx_reading.cue_spans:
            if unit in owner and unit not in dx_reading.repeated:
                block_cues.setdefault(owner[unit], []).append((start, end, kinds))
        reason_seen: set[str] = set()
        for letter, ranges in blocks.items():
            key = _reason_key(dx_reading, ranges, options, letter)
            reasoned = len(key.split()) >= MIN_REASON_WORDS and key not in reason_seen
            reason_seen.add(key)
            verdict = _verdict(dx_reading.lower, block_cues.get(letter, []))
            assessments[letter] = Assessment(letter, verdict, reasoned, tuple(ranges))
        ins = [k for k, a in assessments.items() if a.verdict == "in"]
        not_out = [k for k in options if k not in assessments or assessments[k].verdict != "out"]
        if len(ins) == 1:
            favoured = ins[0]
        elif not ins and len(not_out) == 1:
            favoured = not_out[0]
        concl = parsed.conclusion
        blanked = BOX_RE.sub(lambda m: " " * len(m.group(0)), concl.text)
        concl_reading = _read_section(concl, blanked, options)
        named = frozenset().union(*concl_reading.letters.values())
        hedged = frozenset(
            x
            for i, letters in concl_reading.letters.items()
            if not CONTRAST_RE.search(concl_reading.lower, *concl.spans[i])
            for x in letters
        )
    return Reading(
        parsed=parsed,
        options=options,
        boxed=boxed,
        assessments=assessments,
        dx_favoured=favoured,
        conclusion_named=named,
        conclusion_hedged=hedged,
        reasoning=dx_reading,
        conclusion=concl_reading,
    )


def options_key(options: Any) -> tuple[tuple[str, str], ...]:
    """A hashable form of an ``options`` column value (via :func:`clinr1.items.as_options`):
    a mapping, a list, or JSON text, which is how the training dataset carries options."""
    if type(options) is dict:  # the common case, checked cheaply: letter -> text
        items = tuple(options.items())
        if all(type(k) is str and type(v) is str and k.isupper() and k.isalpha() for k, v in items):
            return items
    if isinstance(options, str):
        return _options_from_text(options)
    if isinstance(options, tuple) and all(isinstance(x, tuple) for x in options):
        return options
    from clinr1.items import as_options

    return tuple(as_options(options).items())


@lru_cache(maxsize=1024)
def _options_from_text(text: str) -> tuple[tuple[str, str], ...]:
    from clinr1.items import as_options

    return tuple(as_options(text).items())


def read(text: str, options: Any, template: str = "crpo") -> Reading:
    """Read ``text`` against an item's ``options`` (cached: the suite reads it once)."""
    return _read(text, template, options_key(options))


def length_factor(n_chars: int) -> float:
    """1 up to ``SOFT_CAP_CHARS``, falling linearly to 0 at ``HARD_CAP_CHARS`` and beyond."""
    if n_chars <= SOFT_CAP_CHARS:
        return 1.0
    if n_chars >= HARD_CAP_CHARS:
        return 0.0
    return (HARD_CAP_CHARS - n_chars) / (HARD_CAP_CHARS - SOFT_CAP_CHARS)


def clear_caches() -> None:
    """Empty the parse and reading caches (benchmarks start cold; memory can be returned)."""
    for cached in (parse, _read, case_pairs, option_matcher):
        cached.cache_clear()
