r"""Answer extraction for evaluation: lenient and ordered (the training reward stays strict).

The rules, tried in order; the first that yields a letter among the item's options wins:

1. the last ``\boxed{...}`` (``\boxed{C}``, ``\boxed{(C)}``, ``\boxed{C. Imatinib}``,
   ``\boxed{\text{C}}``);
2. the last ``<answer>...</answer>`` section, when it opens with a letter (``C``, ``(C)``, ``C.``);
3. the last ``Final answer: X`` (also ``final answer is X``);
4. the last ``Answer: X`` label (also ``ANSWER - X``, ``**Answer: X**``);
5. the last ``the answer is X`` (also ``correct answer``/``best answer``, ``Option X``);

where ``X`` may be written ``X``, ``(X)``, ``**X**`` or ``X.``. With ``match_text=True`` each rule
also accepts the option's own text in place of the letter (``\boxed{Ruxolitinib}``), the lenient
mode. Nothing found gives ``None``, and so does a box that names several letters
(``\boxed{A, C}``): that is a hedge, not an answer.

>>> opts = {"A": "Cladribine", "D": "Ruxolitinib"}
>>> extract_answer(r"so \boxed{B} no, \boxed{D}", opts)
'D'
>>> extract_answer("The answer is **(A)**.", opts)
'A'
>>> extract_answer("Final answer: Ruxolitinib", opts)
>>> extract_answer("Final answer: Ruxolitinib", opts, match_text=True)
'D'
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from clinr1.rewards.parse import BOX_RE, normalise, options_key

_ANSWER_TAG_RE = re.compile(r"<\s*answer\s*>(.*?)<\s*/\s*answer\s*>", re.IGNORECASE | re.DOTALL)
# Labels only: the answer is read from the text after the *last* label, so a self-correction
# ("The answer is A. Wait, no. The answer is D.") ends on the later one.
_FINAL_RE = re.compile(r"(?i:final\s+answer)\s*(?:(?i:is)\s*)?[:\-]?\s*")
_LABEL_RE = re.compile(r"(?<![\w-])(?i:answer)\s*[:\-]\s*")
_ANSWER_IS_RE = re.compile(
    r"(?i:(?:correct|best|right)\s+)?(?i:answer)\s+(?i:is|would be|=)\s*:?\s*"
)
_SEVERAL_RE = re.compile(r"\(?[A-Za-z]\)?(?:\s*(?:,|/|&|(?i:and|or))\s*\(?[A-Za-z]\)?)+[\s.]*")
_WRAP_RE = re.compile(r"^\\(?:text|textbf|mathrm|mathbf|mbox)\s*\{(.*)\}", re.DOTALL)
_LEAD_LETTER_RE = re.compile(
    r"^[\s*_`]*(?:(?i:option|choice)\s*)?[\s*_`]*\(?([A-Za-z])\)?[\s*_`]*(?:[.:)\-,]|\s|$)"
)


def _letter(span: str, options: Mapping[str, str], match_text: bool) -> str | None:
    s = span.strip()
    m = _WRAP_RE.match(s)
    if m:
        s = m.group(1).strip()
    m = _LEAD_LETTER_RE.match(s)
    if m:
        letter = m.group(1)
        # a lower-case single letter is only an answer when it stands alone ("\boxed{c}")
        if letter.isupper() or len(s.strip("()*_. ")) == 1:
            letter = letter.upper()
            if letter in options:
                return letter
    if match_text:
        text = f" {normalise(s)} "
        hits = [(len(n), k) for k, v in options.items() if (n := normalise(v)) and f" {n} " in text]
        if hits:
            hits.sort(reverse=True)
            if len(hits) == 1 or hits[0][0] > hits[1][0]:
                return hits[0][1]
    return None


def _after_last(label: re.Pattern[str], text: str) -> str | None:
    """The rest of the line after the last match of ``label`` (up to 120 characters)."""
    last = None
    for last in label.finditer(text):  # noqa: B007 - only the last match matters
        pass
    if last is None:
        return None
    return text[last.end() : last.end() + 120].split("\n", 1)[0]


def _candidates(text: str) -> Iterator[str | None]:
    """Spans to read a letter from, in rule order; ``None`` stops the search (a hedged box)."""
    boxes = BOX_RE.findall(text)
    if boxes:
        if _SEVERAL_RE.fullmatch(boxes[-1].strip()):
            yield None
            return
        yield boxes[-1]
    tags = _ANSWER_TAG_RE.findall(text)
    if tags:
        yield tags[-1]
    for label in (_FINAL_RE, _LABEL_RE, _ANSWER_IS_RE):
        span = _after_last(label, text)
        if span is not None:
            yield span


def stated_answer(text: str, options: Any) -> str | None:
    """The letter ``text`` states in words, without a box: "Final answer: D", "Answer: D", "the
    answer is D" (rules 3-5 of the module docstring, the option's text accepted too: "the answer
    is yes"); ``None`` when it states none.

    >>> stated_answer("So the answer is (D), not C.", {"C": "x", "D": "y"})
    'D'
    """
    try:
        opts = dict(options_key(options))
        for label in (_FINAL_RE, _LABEL_RE, _ANSWER_IS_RE):
            span = _after_last(label, text)
            if span is not None and (letter := _letter(span, opts, True)) is not None:
                return letter
    except Exception:  # never raises on model output
        return None
    return None


def extract_answer(text: Any, options: Any, *, match_text: bool = False) -> str | None:
    """The letter an evaluation reads from ``text`` (see the module docstring), or ``None``."""
    try:
        opts = dict(options_key(options))
        s = text if isinstance(text, str) else str(text or "")
        for span in _candidates(s):
            if span is None:
                return None
            letter = _letter(span, opts, match_text)
            if letter is not None:
                return letter
    except Exception:  # extraction never raises on model output
        return None
    return None
