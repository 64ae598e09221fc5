r"""The item-independent parse of a completion: its template's sections and its boxes.

:func:`parse` finds the template's sections (``crpo``: ``<dx>``, ``<conclusion>``; ``r1``:
``<think>``, ``<answer>``; ``plain``: body and last paragraph), whether they are well formed, the
text outside them, every ``\boxed{...}``, the quoted spans of the reasoning section and the
sentences ("units") of both sections. It is cached, so the reward suite parses each completion
once; :mod:`clinr1.rewards.reading` then reads it against an item's options.

>>> p = parse('<dx>"fever for 3 days" Option A: ruled out.</dx><conclusion>\\boxed{B}</conclusion>')
>>> p.well_formed, p.quotes, [b.content for b in p.boxes]
(True, ('fever for 3 days',), ['B'])
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from clinr1.prompts import SECTIONS
from clinr1.rewards.text import (
    EMPTY,
    WORD_RE,
    Section,
    completion_text,
    find_quotes,
    normalise,
    split_units,
)

# Above this many characters a completion is not analysed further (faithfulness and
# comprehensiveness are 0 there anyway, see ``length_factor``).
HARD_CAP_CHARS = 18_000
SOFT_CAP_CHARS = 12_000
# Completions kept parsed: TRL calls each reward over a whole generation batch in turn, so the
# cache must hold one batch for the rewards to share a parse (about 15 kB each at 1,500 tokens).
CACHE_SIZE = 2048

BOX_CMD_RE = re.compile(r"\\boxed\b")
BOX_RE = re.compile(r"\\boxed\s*\{((?:[^{}]|\{[^{}]*\})*)\}")
PARAGRAPH_RE = re.compile(r"\n\s*\n")


@lru_cache(maxsize=8)
def tag_pattern(template: str) -> re.Pattern[str] | None:
    """The regex of ``template``'s section tags (group 1: "/" of a closing tag; group 2: the
    tag name), or ``None`` for ``plain``."""
    tags = SECTIONS.get(template, ())
    if not tags:
        return None
    return re.compile(r"<\s*(/?)\s*(" + "|".join(tags) + r")\s*>", re.IGNORECASE)


__all__ = [
    "BOX_RE",
    "WORD_RE",
    "Box",
    "Parsed",
    "box_letter",
    "completion_text",
    "gold_letter",
    "length_factor",
    "normalise",
    "options_key",
    "parse",
    "strict_answer",
    "tag_pattern",
]


@dataclass(frozen=True, eq=False)
class Box:
    content: str
    start: int
    in_conclusion: bool


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
            for m in tag_pattern(template).finditer(text)  # type: ignore[union-attr]
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
    quotes = find_quotes(reasoning) if reasoning else ()
    return Parsed(
        text=text,
        template=template,
        well_formed=well_formed,
        sections=sections,
        reasoning=split_units(reasoning) if reasoning else EMPTY,
        conclusion=split_units(conclusion) if conclusion else EMPTY,
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


def length_factor(n_chars: int) -> float:
    """1 up to ``SOFT_CAP_CHARS``, falling linearly to 0 at ``HARD_CAP_CHARS`` and beyond."""
    if n_chars <= SOFT_CAP_CHARS:
        return 1.0
    if n_chars >= HARD_CAP_CHARS:
        return 0.0
    return (HARD_CAP_CHARS - n_chars) / (HARD_CAP_CHARS - SOFT_CAP_CHARS)
