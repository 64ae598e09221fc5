"""A dataset's explanation as one clean sentence that a cold-start trace can quote.

MedMCQA's explanations are scraped from the web: "Ans: B." prefixes, "(Ref ...)" citations,
the answer's own name glued to the text, lost line breaks. A model fine-tuned on a trace learns
whatever the trace copies, so only a clean, whole sentence is kept, or none.
"""

from __future__ import annotations

import re

_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+|\n+")
# "Ans: B.", "Answer- a (", "ANS. (C)": any case, but "ans"/"answer" as a whole word followed by
# a separator or an option letter ("Ansa cervicalis" and "Answer is" are not prefixes), and
# MedMCQA's other common shape: "Ans. is 'a' i.e., Efficacy ...", "Ans is (b) ie ...".
_ANS_PREFIX_RE = re.compile(
    r"^\s*ans(?:wer)?\b\.?\s*"
    r"(?:is\s*[:\-]?\s*(?:['‘’\"(][a-e]['‘’\")]|[a-e](?=\s*(?:[.,:;\-]|i\.?\s?e\b)))"
    r"[.,:;\-]?\s*(?:i\.?\s?e\b\.?,?\s*)?"
    r"|[:\-–]\s*(?:\(?[a-e]\)?(?=[\s.:\-)])[.:\-)]?\s*)?|\(?[a-e]\)?(?=[\s.:\-)])[.:\-)]?\s*)",
    re.IGNORECASE,
)
# Explanations scraped from the web often lost their line breaks: "heparinCurrent guideline",
# "diseaseIn such", "preferredCKD", "failure.Chronic", "nerve)The", citations, links. A
# sentence with such glue is never copied into a trace, since a model fine-tuned on it learns to
# write the glue. Brand names with an inner capital ("GeneXpert") are caught too; such a sentence
# falls back to a reason that quotes a finding, which is safe.
_GLUED_RE = re.compile(
    r"[a-z]{3,}[A-Z][a-z]|[a-z]{4,}[A-Z]{2,}|[a-z]{3,}[.:;][A-Z]|\)[A-Z][a-z]"
    r"|https?:|www\.|\d/e\b|\b(?i:ref(?:erence)?)\b"
)
# A later sentence that opens on one of these leans on the sentence before it ("Hence, ...",
# "Secondly ..."), which the trace does not quote: it is skipped.
_LEANING_RE = re.compile(
    r"(?i:also|and|besides|but|consequently|firstly|furthermore|hence|however|moreover|"
    r"secondly|similarly|so|therefore|thirdly|thus)\b(?!-)"
)
_REF_RE = re.compile(r"\((?:ref|reference)[^)]*\)", re.IGNORECASE)


def explanation_sentence(
    explanation: str | None, max_words: int = 35, answer_text: str | None = None
) -> str | None:
    """The first clean sentence of a dataset explanation, or None.

    "Ans: B." prefixes, "(Ref ...)" citations and a leading copy of the answer's own text
    (``answer_text``: "Ans: B. Linagliptin(Ref ...)Linagliptin is ...") are stripped; sentences
    with text glued together by the scrape are skipped, and so is a later sentence that opens
    on a connective ("Hence, ..."), since the one it follows is not in the trace.
    """
    if not explanation:
        return None
    text = _REF_RE.sub("", explanation.replace("\xa0", " "))
    text, prefixed = _ANS_PREFIX_RE.subn("", text, count=1)
    text = text.strip(" \"“”'-–")
    # After "Ans: B." comes the answer's text, often glued to the explanation; without the
    # prefix, a first sentence that starts with the answer's name is a real sentence.
    answer = (answer_text or "").replace("\xa0", " ").strip()
    if prefixed and answer:
        for head in (answer, f"({answer})"):
            rest = text[len(head) :]
            # "Linagliptin is excreted ..." is a sentence about the answer: kept whole
            if text.lower().startswith(head.lower()) and not re.match(r"\s+[a-z]", rest):
                text = rest.lstrip(" .:-–)")
                break
    sentences = [s for s in (p.strip(" *•-–") for p in _SENTENCE_RE.split(text)) if s]
    for n, sentence in enumerate(sentences):
        if _GLUED_RE.search(sentence) or (n and _LEANING_RE.match(sentence)):
            continue
        words = _clip(sentence.split(), max_words)
        if len(words) >= 5:
            return " ".join(words).rstrip(",;:.")
    return None


def _clip(words: list[str], max_words: int) -> list[str]:
    """``words`` when at most ``max_words`` long, else cut after the last semicolon that leaves
    5 to ``max_words`` words (a whole clause), else ``[]``: never a cut mid-clause, which a model
    fine-tuned on it would learn to write."""
    if len(words) <= max_words:
        return words
    for end in range(max_words, 4, -1):
        if words[end - 1].endswith(";"):
            return words[:end]
    return []
