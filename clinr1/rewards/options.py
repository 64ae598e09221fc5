"""Where a text names an item's options, in every format chat models write them.

Letter forms: ``Option A``/``Choice A``/``Options A, B and C``, ``(A)``, ``A)``, a label opening
a line or sentence (``A.``, ``A:``, ``A -``, ``**A.**``, ``### A``, ``| A |``, ``A is ...``);
text forms: the option's own text, whole words, case-insensitive (the longest text wins an
overlap), in British or American spelling ("anaemia", "oesophageal"); and, for an option of three
to six words, a *short form*: two or more of its words in a row, neither first nor last a
function word, found in no other option ("iron deficiency" for "Iron deficiency anemia",
"chronic disease" for "Anemia of chronic disease"), as writers shorten a name they repeat.
Each mention also records whether it is set aside by a contrast word before it ("rather than
B", "unlike imatinib", "not C"), so that it is not read as the subject of a verdict.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from clinr1.rewards.lexicon import COMMON_OPTION_TEXTS, CONTRAST_BEFORE_RE, STOPWORDS
from clinr1.rewards.text import lower


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    letter: str
    contrast: bool  # set aside by a contrast word just before it
    by_text: bool = False  # named by its text ("ruxolitinib"), not by its letter


@dataclass(frozen=True, eq=False)
class OptionMatcher:
    letters: str
    named_re: re.Pattern[str] | None  # "Option A", "Options A, B and C", "choice (B)"
    paren_re: re.Pattern[str] | None  # "(A)", "A)"
    label_re: re.Pattern[str] | None  # a label at a line or sentence start
    texts: tuple[tuple[str, str], ...]  # (lower-cased text, letter), longest first
    # spelling variants and short forms, read after the texts: (lower-cased form, letter)
    forms: tuple[tuple[str, str], ...] = ()


# A bare letter opening a sentence is a label when a verb follows: "B is wrong", "C and D fit".
_VERBS = (
    "(?:is|was|would|does|doesn't|do|can|cannot|can't|could|seems|fits|explains|remains|also"
    "|and|or|nor|are|has)"
)
# Verbs that take an option letter as their object: "Eliminate A", "that leaves D".
_PICK_VERBS = (
    "[Ee]liminat(?:e|es|ed|ing)|[Ee]xclud(?:e|es|ed|ing)|[Rr]ul(?:e|es|ed|ing) out"
    "|[Cc]hoos(?:e|es|ing)|[Cc]hose|[Ll]eav(?:e|es|ing)|[Pp]ick(?:s|ed|ing)?"
    "|[Ss]elect(?:s|ed|ing)?"
)
_GLUE_RE = re.compile(r"[\s(*:,-]{0,4}")
_MARKS = re.escape("*#>•|_`✅✔☑✓❌✗✘✖❎\ufe0f-")  # markup before a label: bullets, ticks
_LIST_SEP = r"(?:\s*(?:,|/|&|\band\b|\bor\b|\bnor\b)\s*)"
_OPENERS = "\n.!?:;"


@lru_cache(maxsize=1024)
def option_matcher(options: tuple[tuple[str, str], ...], case: str = "") -> OptionMatcher:
    """The compiled matchers for one item's options (cached per option set and case): a short
    form that is words of the ``case`` ("plasma glucose", "1 month") names no option."""
    letters = "".join(k for k, _ in options if len(k) == 1 and k.isalpha() and k.isupper())
    named_re = paren_re = label_re = None
    if letters:
        c = f"[{letters}]"
        one = rf"\(?{c}\)?(?![\w(])"
        named_re = re.compile(
            rf"\b(?:[Oo]ptions?|OPTIONS?|[Cc]hoices?|CHOICES?|[Aa]nswers?|{_PICK_VERBS}"
            r"|(?:[Aa]nswer|[Cc]hoice|[Oo]ption)\s+(?:is|would be|must be|should be|here is))"
            r"[ \t]*:?[ \t]*\**[ \t]*"  # on one line: "each option:\nA. ..." names no A here
            rf"({one}(?:{_LIST_SEP}{one})*)"
        )
        paren_re = re.compile(rf"\(({c})\)|(?<![\w(\\{{])({c})\)")
        label_re = re.compile(
            rf"(?:^|(?<=[{re.escape(_OPENERS)}]))[ \t]*"
            rf"(?:[{_MARKS}][ \t]*|\d{{1,2}}[.)][ \t]+)*"  # one mark a step: linear time
            rf"({c})(?:\*\*|__)?(?:[ \t]*[.:;|]|[ \t]*(?=\n|$)|\s[-–—]\s|\s+(?={_VERBS}\b)"
            rf"|(?={_LIST_SEP}\(?{c}\)?(?![\w(])))"
        )
    seen: dict[str, list[str]] = {}
    for k, v in options:
        t = " ".join(lower(v).split()).strip(" .,;:\"'“”*")
        if 3 <= len(t) <= 120 and any(ch.isalpha() for ch in t) and t not in COMMON_OPTION_TEXTS:
            seen.setdefault(t, []).append(k)
    texts = tuple(
        sorted(((t, ks[0]) for t, ks in seen.items() if len(ks) == 1), key=lambda x: -len(x[0]))
    )
    return OptionMatcher(letters, named_re, paren_re, label_re, texts, _forms(texts, lower(case)))


# American and British spellings of the same stem: an option written one way, named the other.
_SPELLINGS = (
    ("aem", "em"),  # anaemia, haem, ischaemia, leukaemia, glycaemia, septicaemia
    ("aest", "est"),  # anaesthesia
    ("gynae", "gyne"),
    ("paed", "ped"),
    ("caes", "ces"),
    ("oedem", "edem"),
    ("oesoph", "esoph"),
    ("oestr", "estr"),
    ("foet", "fet"),
    ("diarrhoea", "diarrhea"),
    ("coeliac", "celiac"),
    ("amoeb", "ameb"),
    ("tumour", "tumor"),
    ("behaviour", "behavior"),
    ("labour", "labor"),
    ("colour", "color"),
    ("centre", "center"),
    ("fibre", "fiber"),
    ("litre", "liter"),
    ("isation", "ization"),
    ("ised", "ized"),
    ("sulph", "sulf"),
    ("aluminium", "aluminum"),
)
MAX_FORM_WORDS = 6  # longer option texts are statements, not names: no short forms


def _respelled(text: str) -> set[str]:
    """``text`` in the other spelling (British and American), stem by stem."""
    out = set()
    for british, american in _SPELLINGS:
        if british in text:
            out.add(text.replace(british, american))
        elif american in text:
            out.add(text.replace(american, british))
    return out - {text}


def _forms(texts: tuple[tuple[str, str], ...], case: str) -> tuple[tuple[str, str], ...]:
    """Spelling variants of each text, then short forms (see the module docstring): runs of
    two or more words, not opening or closing on a function word, in no other option's text
    and not in the case."""
    forms: dict[str, set[str]] = {}
    for t, letter in texts:
        for variant in _respelled(t):
            forms.setdefault(variant, set()).add(letter)
    spelled = [(v, k) for t, k in texts for v in (t, *_respelled(t))]
    letter_words = {k: t.split() for t, k in texts}
    for t, letter in spelled:
        words = t.split()
        if not 2 < len(words) <= MAX_FORM_WORDS:
            continue
        for i in range(len(words)):
            for j in range(i + 2, len(words) + 1):
                run = words[i:j]
                if j - i == len(words) or run[0] in STOPWORDS or run[-1] in STOPWORDS:
                    continue
                if not any(len(w) > 3 and w.isalpha() for w in run):
                    continue
                forms.setdefault(" ".join(run), set()).add(letter)
    own = {t for t, _ in texts}
    kept = []
    for form, letters in forms.items():
        if len(letters) != 1 or form in own:
            continue
        pattern = re.compile(rf"(?<!\w){re.escape(form)}(?!\w)")
        (letter,) = letters
        if any(pattern.search(v) for v, k in spelled if k != letter):
            continue  # part of another option's name: it names neither
        if len(form.split()) < len(letter_words[letter]) and pattern.search(case):
            continue  # the case's own words ("plasma glucose"): a finding, not a name
        kept.append((form, letter))
    return tuple(sorted(kept, key=lambda x: -len(x[0])))


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


@lru_cache(maxsize=64)
def _continuation(letters: str) -> re.Pattern[str]:
    return re.compile(rf"{_LIST_SEP}\(?([{letters}])\)?(?![\w(])")


def _abbreviation(text: str, end: int, option_text: str) -> bool:
    """Whether a label ``X.`` is really an abbreviated name ("B. fragilis", "E. coli"): a
    lower-case word follows, and it does not begin the option's own text."""
    if text[end - 1 : end] != ".":
        return False
    rest = text[end : end + 40].lstrip(" \t")
    if not rest[:1].islower():
        return False
    word = re.match(r"[\w-]+", rest)
    return word is not None and not lower(option_text).startswith(word.group())


def _whole_words(low: str, t: str) -> list[tuple[int, int]]:
    """Where ``t`` stands in ``low`` as whole words."""
    out = []
    start = low.find(t)
    while start != -1:
        end = start + len(t)
        if (start == 0 or not _is_word(low[start - 1])) and (
            end == len(low) or not _is_word(low[end])
        ):
            out.append((start, end))
        start = low.find(t, end)
    return out


def find_mentions(
    text: str, options: Mapping[str, str] | tuple[tuple[str, str], ...], case: str = ""
) -> list[Mention]:
    """Every mention of an option in ``text``, in order (see the module docstring).

    >>> opts = {"A": "x", "B": "y", "C": "Prednisone"}
    >>> [(m.start, m.letter, m.contrast) for m in find_mentions(
    ...     "Option A is wrong; (B) fits. Prednisone, rather than option A.", opts)]
    [(0, 'A', False), (19, 'B', False), (29, 'C', False), (54, 'A', True)]
    """
    key = tuple(options.items()) if isinstance(options, Mapping) else options
    matcher = option_matcher(key, case)
    raw: list[tuple[int, int, str, bool]] = []
    claimed = bytearray(len(text) + 1)  # characters already part of a mention

    def add(start: int, end: int, letter: str, by_text: bool = False) -> None:
        if not any(claimed[start:end]):
            raw.append((start, end, letter, by_text))
            claimed[start:end] = b"\x01" * (end - start)

    if matcher.named_re is not None:
        for m in matcher.named_re.finditer(text):
            for i, sub in enumerate(re.finditer(rf"[{matcher.letters}]", m.group(1))):
                pos = m.start(1) + sub.start()
                add(m.start() if i == 0 else pos, pos + 1, sub.group())
        opts = dict(key)
        for m in matcher.label_re.finditer(text):  # type: ignore[union-attr]
            if not _abbreviation(text, m.end(), opts.get(m.group(1), "")):
                add(m.start(1), m.end(1), m.group(1))
        for m in matcher.paren_re.finditer(text):  # type: ignore[union-attr]
            letter = m.group(1) or m.group(2)
            add(m.start(), m.end(), letter)
    if matcher.letters:  # "A, B and C are ruled out": letters listed after a letter mention
        listed = _continuation(matcher.letters)
        for _start, end, _letter, by_text in sorted(raw):
            while not by_text and (m := listed.match(text, end)) is not None:
                if claimed[m.start(1)]:
                    break  # already read: "Options A, B, A, B, ..." stops here
                add(m.start(1), m.end(1), m.group(1))
                end = m.end()
    if matcher.texts:
        low = lower(text)
        for t, letter in matcher.texts:
            for start, end in _whole_words(low, t):
                add(start, end, letter, by_text=True)
        # Short forms in reading order: in "small cell carcinoma" the option "Small cell lung
        # cancer" is named ("small cell"), not "Squamous cell carcinoma" ("cell carcinoma").
        found = sorted(
            (start, -end, letter)
            for t, letter in matcher.forms
            for start, end in _whole_words(low, t)
        )
        for start, neg_end, letter in found:
            add(start, -neg_end, letter, by_text=True)
    raw.sort()
    low = lower(text)
    out: list[Mention] = []
    for s, e, letter, by_text in raw:
        contrast = bool(CONTRAST_BEFORE_RE.search(low, max(0, s - 40), s))
        prev = out[-1] if out else None
        if prev is not None and prev.letter == letter and _GLUE_RE.fullmatch(text, prev.end, s):
            contrast = contrast or prev.contrast  # "imatinib (C)": one mention, one reading
        out.append(Mention(s, e, letter, contrast, by_text))
    return out
