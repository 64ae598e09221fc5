"""Plain-text helpers every reward shares: normalising words, cutting sentences, finding quotes.

Standard library only, so the rewards import cheaply and run anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from clinr1.rewards.lexicon import STOPWORDS, VIGNETTE_WORDS

WORD_RE = re.compile(r"[^\W_]+")
_DIGIT_EDGE_RE = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
# Quoted spans, on one line, in the marks chat models use: "..." “...” «...» „...“ ‘...’.
# A closing ’ must not be an apostrophe inside a word ("patient’s").
QUOTE_RES = (  # (opening mark, pattern)
    ('"', re.compile(r'"([^"\n]{1,600})"')),
    ("“", re.compile(r"“([^“”\n]{1,600})”")),
    ("«", re.compile(r"«([^«»\n]{1,600})»")),
    ("„", re.compile(r"„([^„“”\n]{1,600})[“”]")),
    ("‘", re.compile(r"‘([^‘\n]{1,600}?)’(?![^\W_])")),
    # ASCII single quotes, bounded by non-word characters so that apostrophes are not read
    ("'", re.compile(r"(?<![\w'])'([^'\n]{3,600}?)'(?![\w'])")),
)
_QUOTE_CHARS = "".join(mark for mark, _ in QUOTE_RES)
# A sentence ends at a line break, or at ".", "!" or "?" followed by whitespace, except after an
# abbreviation or a one-letter token ("A. Cladribine", "e.g. fever", "vs. B").
_BREAK_RE = re.compile(r"\n|(?<![.!?])[.!?]+(?=\s)")  # a run starts once: linear time
_ABBREVIATIONS = frozenset("e.g i.e eg ie vs cf approx dr mr mrs ms st fig resp incl".split())  # noqa: SIM905
_MARKUP = " \t*#>-|_`•✅✔☑✓❌✗✘✖❎\ufe0f"


def normalise(text: str) -> str:
    """Lower-case, punctuation to spaces, letters apart from digits, whitespace collapsed: the
    form quotes are matched in ("JAK2" and "JAK 2" read alike).

    >>> normalise("Hemoglobin 6.4 g/dL;  JAK2 (+)")
    'hemoglobin 6 4 g dl jak 2'
    """
    return " ".join(WORD_RE.findall(_DIGIT_EDGE_RE.sub(" ", text.lower())))


def lower(text: str) -> str:
    """``text.lower()`` with the same length, so offsets carry over ("İ" lowers to two chars)."""
    low = text.lower()
    if len(low) != len(text):
        low = "".join(ch.lower()[:1] for ch in text)
    return low


def is_content(word: str) -> bool:
    """A normalised word that carries meaning: not a function word."""
    return word not in STOPWORDS


def is_informative(word: str) -> bool:
    """A content word that states a finding: not a function word, not vignette scene-setting
    ("year", "comes", "physician"), not a bare number."""
    return word not in STOPWORDS and word not in VIGNETTE_WORDS and not word.isdigit()


def informative_pairs(words: list[str] | tuple[str, ...]) -> set[tuple[str, str]]:
    """Pairs of consecutive content words (function words skipped), at least one of them
    informative ("extensive fibrosis", "jak 2", "efficiency bur" from "the efficiency of bur"):
    the unit in which a sentence refers to a finding.

    >>> sorted(informative_pairs("the efficiency of bur in a 7 year old".split()))
    [('bur', '7'), ('efficiency', 'bur')]
    """
    content = [w for w in words if w not in STOPWORDS]
    out = set()
    for a, b in pairwise(content):
        if is_informative(a) or is_informative(b):
            out.add((a, b))
    return out


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


def quote_spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, quoted text)`` of every quoted span, outermost only, in order."""
    found = []
    for mark, rx in QUOTE_RES:
        if mark in text:
            found.extend((m.start(), m.end(), m.group(1).strip()) for m in rx.finditer(text))
    found.sort(key=lambda x: (x[0], -x[1]))
    out: list[tuple[int, int, str]] = []
    for span in found:
        if not out or span[0] >= out[-1][1]:  # a quote inside a quote is part of it
            out.append(span)
    return out


def find_quotes(text: str) -> tuple[str, ...]:
    """The quoted spans of ``text``, in every common quotation mark, in order of position.

    >>> find_quotes("He had “fever for 3 days”, « a rash », ‘the patient’s cough’ and 'no pain'.")
    ('fever for 3 days', 'a rash', 'the patient’s cough', 'no pain')
    """
    if not any(c in text for c in _QUOTE_CHARS):
        return ()
    return tuple(q for _, _, q in quote_spans(text))


def blank_quotes(text: str) -> str:
    """``text`` with every quoted span replaced by spaces (same length, offsets kept): words
    quoted from the case are the case's, not the writer's verdicts or mentions.

    >>> blank_quotes('B fits "not ruled out" here')
    'B fits                 here'
    """
    if not any(c in text for c in _QUOTE_CHARS):
        return text
    chars = list(text)
    for start, end, _ in quote_spans(text):
        chars[start:end] = " " * (end - start)
    return "".join(chars)


@dataclass(frozen=True, eq=False)
class Section:
    """A section's text cut into units (sentences and lines), with each unit's span."""

    text: str
    spans: tuple[tuple[int, int], ...]
    starts: tuple[int, ...]

    def unit(self, i: int) -> str:
        s, e = self.spans[i]
        return self.text[s:e]


def _token_before(text: str, end: int) -> str:
    """The word that ends at ``end`` (letters and inner dots), lower-cased."""
    i = end
    while i > 0 and (text[i - 1].isalnum() or text[i - 1] == "."):
        i -= 1
    return text[i:end].lower().rstrip(".")


def split_units(text: str) -> Section:
    """Cut ``text`` into units: lines, and sentences within them.

    A list marker or an option label opening a unit ("1.", "A.", "**B.**") does not end it, nor
    does an abbreviation ("e.g.", "vs.", "B. fragilis"); "... is option A. Wait" does.

    >>> s = split_units("A. Cladribine: e.g. hairy cells. Ruled out.\\n- B: fits")
    >>> [s.unit(i) for i in range(len(s.spans))]
    ['A. Cladribine: e.g. hairy cells.', 'Ruled out.', '- B: fits']
    """
    spans = []
    start = 0
    n = len(text)
    for m in _BREAK_RE.finditer(text):
        if m.group() != "\n":
            token = _token_before(text, m.start())
            head = text[start : m.start()].strip(_MARKUP)
            after = text[m.end() : m.end() + 2].lstrip()
            label = len(head) == 1 or head.isdigit() or not head  # "A.", "2.", "**B.**"
            initial = len(token) == 1 and after[:1].islower()  # "B. fragilis", "E. coli"
            if label or initial or token in _ABBREVIATIONS:
                continue
        end = m.end() if m.group() != "\n" else m.start()
        _add_unit(text, start, end, spans)
        start = m.end()
    if start < n:
        _add_unit(text, start, n, spans)
    return Section(text, tuple(spans), tuple(s for s, _ in spans))


def _add_unit(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


EMPTY = split_units("")
