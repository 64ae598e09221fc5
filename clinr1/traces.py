"""Cold-start traces without a teacher: honest, varied ``crpo`` answers written by rule.

The paper's cold start distils DeepSeek-R1 traces. Where no teacher is at hand, :func:`write_trace`
writes one for any item from what the item itself holds: the case's own findings quoted word for
word, the gold answer (and the dataset's explanation, where it has one), a reason per option in
wording drawn at random so that no two options share a sentence, and the behaviours the rewards
look for (a plan, a check of the leading answer against a finding, sometimes a hypothesis followed
back to the findings or a first impression revised). The same content is rendered in one of
several formats that chat models use (``Option A (...)``, ``A.``, markdown bullets, headers, a
table, parenthesised letters, the option's text alone), so a model fine-tuned on the traces learns
the structure, not one template.

The traces are honest about what they know: the reasons for ruling out a distractor are about the
case ("leaves \\"...\\" unexplained"), not invented pharmacology. The reward tests build their
honest answers here too (:func:`plan` + :func:`render`), and every trace is checked against the
rewards before it is kept (:func:`write_traces`).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clinr1.explanations import explanation_sentence
from clinr1.items import Item
from clinr1.rewards.grounding import case_body
from clinr1.rewards.text import is_informative, normalise

# "grouped": the answer first, then the others as a list under one verdict header
STYLES = ("option", "letter", "bullets", "headers", "table", "paren", "text", "grouped")
MAX_TEXT_WORDS = 6  # longer option texts are statements: not named by their text alone
MIN_FAITHFULNESS = 0.6
MIN_COMPREHENSIVENESS = 0.6

_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+|\n+")
_CLAUSE_RE = re.compile(r",\s+|;\s+|\s+and\s+|\s+with\s+|\s+but\s+|:\s+")
# A span should not end on a dangling function word ("chest pain for").
_DANGLING = frozenset(
    "a an the of for to in on at by with from and or has had is was are were his her their its "  # noqa: SIM905
    "who which that this".split()
)
_NUMBER_WORDS = frozenset("one two three four five six seven eight nine ten".split())  # noqa: SIM905
_QUOTED_RE = re.compile(r'"([^"]*)"')


def case_findings(question: str, k: int = 4, max_words: int = 8) -> list[str]:
    """Up to ``k`` verbatim spans (3 to ``max_words`` words) that state findings of the case.

    One per sentence first (never the final lead-in sentence of a multi-sentence stem), each
    holding a word beyond function words, numbers and scene-setting ("72-year-old man comes to
    the physician" is no finding), and copied exactly from ``question`` so that it can be quoted.

    >>> case_findings("A 72-year-old man comes to the physician because of fatigue. "
    ...               "The spleen is palpated 6 cm below the costal margin. Diagnosis?")
    ['The spleen is palpated 6 cm below', 'because of fatigue']
    """
    flat = " ".join(question.split())  # quotes are matched with whitespace collapsed
    body = [s.strip() for s in _SENTENCE_RE.split(case_body(flat)) if s.strip()]
    ranked: list[tuple[int, int, str]] = []
    for si, sentence in enumerate(body):
        for ci, clause in enumerate(_CLAUSE_RE.split(sentence.rstrip(".?!:"))):
            words = clause.split()
            best = _best_window(words, max_words)
            if best is None:
                continue
            span = _balanced(" ".join(best).strip(" .,;:\"“”'"))
            if len(span.split()) >= 3 and span in flat and '"' not in span:
                ranked.append((ci, si, span))
    ranked.sort(key=lambda x: (x[0] > 0, x[1]))  # first clauses first, then in reading order
    out: list[str] = []
    for _, _, span in ranked:
        low = span.lower()
        if any(low in o.lower() or o.lower() in low for o in out):
            continue
        out.append(span)
        if len(out) >= k:
            break
    return out


def _balanced(span: str) -> str:
    """``span`` without an unclosed bracket and what follows it ("38°C (100.4°F" -> "38°C"), or
    an unopened one and what precedes it."""
    while span.count("(") > span.count(")"):
        span = span[: span.rindex("(")].rstrip(" .,;:")
    while span.count(")") > span.count("("):
        span = span[span.index(")") + 1 :].lstrip(" .,;:")
    return span


def _informative(word: str) -> bool:
    return any(map(is_informative, normalise(word).split()))


def _trim(words: list[str]) -> list[str]:
    def bare(w: str) -> str:
        return re.sub(r"[^\w]", "", w.lower())

    while words and (bare(words[-1]) in _DANGLING or bare(words[-1]) in _NUMBER_WORDS):
        words = words[:-1]
    while words and bare(words[0]) in _DANGLING - {"a", "an"}:
        words = words[1:]
    return words


def _best_window(words: list[str], max_words: int) -> list[str] | None:
    """The clause itself when short enough, else its most informative run of up to
    ``max_words`` words; trimmed of dangling function words; ``None`` when it states no finding."""
    if len(words) <= max_words:
        window = _trim(words)
        return window if len(window) >= 3 and any(map(_informative, window)) else None
    best, best_score = None, 0
    for start in range(len(words) - 2):
        window = _trim(words[start : start + max_words])
        score = sum(map(_informative, window))
        if len(window) >= 3 and score > best_score:
            best, best_score = window, score
    return best


# --- wording pools -------------------------------------------------------------------------
# Each distractor reason names one finding ({f}) and says why the option does not fit it,
# in words no other pool entry uses, so that reasons stay distinct within one answer.
_OUT_REASONS = (
    'it leaves "{f}" unexplained, and its usual setting differs from this one',
    'nothing here points towards it, since "{f}" belongs to a different process',
    'it would need a different clinical picture from "{f}" and the rest of the case',
    'the course suggested by "{f}" argues against it',
    'it does not address the problem behind "{f}"',
    'its hallmark features are missing, and "{f}" is not part of its pattern',
    'choosing it would ignore "{f}", which changes the priorities here',
    'it covers at most a part of the story, not "{f}"',
    'the timing and severity described in "{f}" do not match it',
    'it is a recognised distractor here: "{f}" is not what it produces',
)
# The same, without a quote: half of the distractors get one of these (all in a brief trace),
# to keep traces short.
_OUT_REASONS_BARE = (
    "this patient's age and sex make it improbable",
    "it would leave the main abnormality here without a cause",
    "its triggers and risk factors are absent",
    "its natural history runs on a slower clock",
    "it concerns another organ system entirely",
    "its laboratory signature is not seen here",
    "the intensity here far exceeds its modest effects",
    "its epidemiology points to another age group",
)
_IN_REASONS = (
    'it accounts for "{f}" and "{f2}" together',
    'it brings together "{f}" and "{f2}" in one process',
    'it is the one choice that explains "{f}" alongside "{f2}"',
)
_IN_REASONS_ONE = (
    'it accounts for "{f}" directly',
    'it is the one choice that explains "{f}"',
    'it answers exactly what "{f}" asks about',
)
# Negative stems: the answer is the exception; the others fit.
_EXCEPTION_REASONS = (
    "it is the one option that does not belong with the others in this question",
    "unlike the rest, it is not a recognised association here",
    "it stands apart from the other options for this question",
)
_FITS_REASONS = (
    "a recognised association in this setting, so it belongs with the group",
    "a well-described feature here, which keeps it out of the running",
    "it is typically present in this context, so it is not the exception",
    "standard teaching lists it as associated, so it cannot be the exception",
    "it is an accepted part of this picture, hence not the odd one out",
)
_OUT_VERDICTS = ("ruled out", "excluded", "unlikely", "not the answer", "less likely")
_IN_VERDICTS = ("most likely", "supported", "the best answer", "most appropriate")
_EXCEPTION_VERDICTS = ("the exception", "the answer")
_FITS_VERDICTS = ("not the exception", "ruled out", "not the answer")
_PLANS = (
    (
        "First, I pick out the findings that matter in this case.",
        "Then I weigh each option against those findings in turn.",
    ),
    (
        "Step 1: collect the key findings from the case.",
        "Step 2: test every option against the findings and decide.",
    ),
    (
        "First, the question asks which option best fits the case.",
        "Next, I work through the options one at a time.",
    ),
)
# Brief traces (``plan(brief=True)``): the same steps in fewer words.
_BRIEF_PLANS = (
    ("First, the key findings.", "Then each option in turn."),
    ("Step 1: the findings.", "Step 2: test each option."),
    ("First, what the case shows.", "Next, the options one by one."),
)
_CHECKS = (
    'To verify, {g} is consistent with "{f}".',
    'Checking the answer again: {g} fits "{f}" as well.',
    'A final check confirms that {g} matches "{f}".',
)
_EXCEPTION_CHECKS = (
    'To verify, {g} is the one option that does not fit with "{f}".',
    'Checking again: unlike the others, {g} does not belong with "{f}".',
)
_BACKWARD = (
    'If the answer were {g}, we would expect "{f}", and the case shows exactly that.',
    'Working backwards from {g}, one would expect "{f}", which is what is described.',
)
# A first impression, revised in that option's own block ("on reflection, ...; ruled out"):
# a verdict that turns over, which is what backtracking is credited for.
_FIRST_GUESSES = (
    "At first sight {o} seems the most likely answer.",
    "My first impression is that {o} is the most appropriate.",
)
_REVISIONS = ("on reflection, ", "wait, on second thought ")
_CONCLUSIONS = (
    'Given "{f}", the answer is {gt} ({g}).',
    "The findings, above all {f}, point to {gt}: option {g}.",
    'With "{f}" in the case, {gt} ({g}) is the answer.',
)
_BRIEF_CONCLUSIONS = (
    'Given "{f}", the answer is {g}.',
    'Because of "{f}", the answer is option {g}.',
    '"{f}" points to option {g}.',
)
_FINDINGS_HEADS = ("Key findings:", "Findings from the case:", "The case gives:")


class _Regular(random.Random):
    """A random source whose ``choice`` always takes the first entry (``plan(regular=True)``)."""

    def __init__(self, source: random.Random) -> None:
        super().__init__()
        self.setstate(source.getstate())

    def choice(self, seq):  # type: ignore[override]
        return seq[0]


@dataclass
class Plan:
    """The content of one honest answer, before it is given a format."""

    findings: list[str]
    answer: str
    options: dict[str, str]
    reasons: dict[str, str]
    verdicts: dict[str, str]
    plan: tuple[str, str]
    check: str
    extras: list[str] = field(default_factory=list)
    first_guess: str = ""
    conclusion: str = ""
    findings_head: str = "Key findings:"


def plan(
    item: Item | dict[str, Any],
    rng: random.Random,
    *,
    extras: bool = True,
    regular: bool = False,
    brief: bool = False,
) -> Plan:
    """The content of an honest answer to ``item``: its findings, a distinct reason and a
    verdict per option, a plan, a check of the answer, and a conclusion citing a finding.

    ``regular``: the same plan, check, conclusion and verdict words for every item (only the
    findings and the reasons vary), for a model too small to learn varied wording.
    ``brief``: ~30 % fewer tokens, for CPU budgets: two findings of at most five words;
    distractor reasons without quotes; the dataset's explanation only when its first sentence
    (or a clause ending in ";") has at most 20 words, else a reason quoting one finding; a short
    plan and conclusion; and neither optional behaviour (backward chaining, a revised first
    guess), each about 25 tokens."""
    if regular:
        rng = _Regular(rng)
    from clinr1.rewards.cues import is_negative_stem

    it = item if isinstance(item, Item) else Item.from_dict(item)
    answer, options = it.answer, dict(it.options)
    case = f"{it.context}\n{it.question}" if it.context else it.question
    n_words = len(case.split())
    k = 2 if n_words < 40 or brief else 3
    max_words = 5 if brief else 6 if n_words < 40 else 7
    findings = case_findings(case, k=k, max_words=max_words)
    if not findings:  # no clause states a finding: the most informative run of the stem
        window = _best_window(it.question.split(), 5 if brief else 6)
        words = " ".join(it.question.split()).rstrip("?:.").split()
        if window:
            findings = [" ".join(window)]
        elif 3 <= len(words) <= 6:  # a stem of a few words: quote it whole
            findings = [" ".join(words)]
    negative = is_negative_stem(it.question)
    f = findings or ["the question"]
    others = [k for k in options if k != answer]
    out_pool = rng.sample(_OUT_REASONS, k=len(_OUT_REASONS))
    bare_pool = rng.sample(_OUT_REASONS_BARE, k=len(_OUT_REASONS_BARE))
    fits_pool = rng.sample(_FITS_REASONS, k=len(_FITS_REASONS))
    reasons: dict[str, str] = {}
    verdicts: dict[str, str] = {}
    for i, k in enumerate(others):
        if negative:
            reasons[k] = fits_pool[i % len(fits_pool)]
            verdicts[k] = rng.choice(_FITS_VERDICTS)
        else:
            if brief:  # no quotes: the findings are quoted elsewhere, and quotes cost tokens
                reasons[k] = bare_pool[i % len(bare_pool)]
            elif i % 2 == 0:
                reasons[k] = out_pool[(i // 2) % len(out_pool)].format(f=f[(i // 2) % len(f)])
            else:
                reasons[k] = bare_pool[(i // 2) % len(bare_pool)]
            verdicts[k] = rng.choice(_OUT_VERDICTS)
    explained = explanation_sentence(
        it.explanation, max_words=20 if brief else 35, answer_text=it.options.get(answer)
    )
    if negative:
        reasons[answer] = explained or rng.choice(_EXCEPTION_REASONS)
        verdicts[answer] = rng.choice(_EXCEPTION_VERDICTS)
    else:
        pool = _IN_REASONS if len(f) > 1 and not brief else _IN_REASONS_ONE
        reasons[answer] = explained or rng.choice(pool).format(f=f[-1] if brief else f[0], f2=f[-1])
        verdicts[answer] = rng.choice(_IN_VERDICTS)
    gold_label = f"option {answer}"
    p = Plan(
        findings=findings,
        answer=answer,
        options=options,
        reasons=reasons,
        verdicts=verdicts,
        plan=rng.choice(_BRIEF_PLANS if brief else _PLANS),
        check=rng.choice(_EXCEPTION_CHECKS if negative else _CHECKS).format(g=gold_label, f=f[-1]),
        findings_head=rng.choice(_FINDINGS_HEADS),
    )
    if extras and findings and not negative and not brief:  # brief: ~25 tokens each, left out
        if rng.random() < 0.5:
            p.extras.append(rng.choice(_BACKWARD).format(g=gold_label, f=f[0]))
        if others and rng.random() < 0.5:
            o = rng.choice(others)
            p.first_guess = rng.choice(_FIRST_GUESSES).format(o=f"option {o}")
            p.reasons[o] = rng.choice(_REVISIONS) + p.reasons[o]
            p.verdicts[o] = "ruled out"  # a first impression is undone by a firm verdict
    conclusions = _BRIEF_CONCLUSIONS if brief else _CONCLUSIONS
    p.conclusion = rng.choice(conclusions).format(f=f[0], gt=options[answer], g=answer)
    return p


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _option_line(style: str, k: str, text: str, reason: str, verdict: str) -> str:
    if style == "option":
        return f"Option {k} ({text}): {reason}; {verdict}."
    if style == "letter":
        return f"{k}. {text}: {_cap(reason)}. {_cap(verdict)}."
    if style == "bullets":
        return f"- **{k}. {text}**: {reason} — {verdict}."
    if style == "headers":
        return f"### Option {k}: {text}\n{_cap(reason)}.\nVerdict: {verdict}."
    if style == "table":
        return f"| {k} | {text} | {_cap(reason)} | {_cap(verdict)} |"
    if style == "paren":
        return f"({k}) {text} - {reason}; {verdict}."
    if style == "text":
        return f"{text}: {reason}. So {text} is {verdict}."
    raise ValueError(f"unknown style {style!r}; valid: {', '.join(STYLES)}")


def _grouped_lines(p: Plan, shown: dict[str, str], q: Callable[[str], str]) -> list[str]:
    """The answer with its verdict, then the other options listed under one verdict header
    ("**Why the other options are wrong:**"), as chat models often write them."""
    k = p.answer
    exception = p.verdicts[k] in _EXCEPTION_VERDICTS
    lines = [f"**{_cap(p.verdicts[k])}: {k}. {shown[k]}**: {_cap(q(p.reasons[k]))}."]
    header = "Why the others are not the answer" if exception else "Why the other options are wrong"
    lines.append(f"**{header}:**")
    lines += [f"- {o}. {shown[o]}: {_cap(q(p.reasons[o]))}." for o in p.options if o != k]
    return lines


def render(p: Plan, style: str = "option", quote: tuple[str, str] = ('"', '"')) -> str:
    """``p`` as a ``crpo`` completion in ``style`` (one of :data:`STYLES`), quoting findings
    with the ``quote`` marks."""
    o, c = quote

    def q(text: str) -> str:
        return _QUOTED_RE.sub(lambda m: f"{o}{m.group(1)}{c}", text)

    quoted = ", ".join(f"{o}{f}{c}" for f in p.findings)
    lines = [p.plan[0], f"{p.findings_head} {quoted}.", *filter(None, [p.first_guess]), p.plan[1]]
    if style == "table":
        lines += ["| Option | Choice | Reasoning | Verdict |", "|---|---|---|---|"]
    shown = {  # a stray quote in an option's text would pair wrongly
        k: " ".join(text.split()).strip(' "“”').rstrip(".") for k, text in p.options.items()
    }
    if style == "grouped":
        lines += _grouped_lines(p, shown, q)
    else:
        for k in p.options:
            lines.append(_option_line(style, k, shown[k], q(p.reasons[k]), p.verdicts[k]))
    lines += [q(x) for x in p.extras]
    lines.append(q(p.check))
    dx = "\n".join(lines)
    return (
        f"<dx>\n{dx}\n</dx>\n<conclusion>\n{q(p.conclusion)} \\boxed{{{p.answer}}}\n</conclusion>"
    )


def styles_for(options: dict[str, str]) -> tuple[str, ...]:
    """The styles that can carry ``options``: ``text`` (the option's text alone) only when each
    option's text can be told apart in prose (words, not "7" or "14")."""
    from clinr1.rewards.options import option_matcher

    readable = {
        k
        for t, k in option_matcher(tuple(options.items())).texts
        if len(t.split()) <= MAX_TEXT_WORDS and not re.match(r"[a-z]\.\s", t)
    }
    return STYLES if readable == set(options) else tuple(s for s in STYLES if s != "text")


# Short reasons with no word in common, for the compact trace: each is its own reason.
_SHORT_REASONS = (
    "its usual setting differs here",
    "its hallmark signs are missing",
    "it misses the expected laboratory values",
    "another mechanism drives this case",
    "the clinical course rarely looks like this",
    "typical triggers are absent",
    "this patient lacks its risk profile",
    "expected examination changes never appear",
    "it treats another process entirely",
)


def compact_trace(item: Item | dict[str, Any]) -> str:
    """A short, regular trace for ``item``: the same wording on every item but for its findings
    and one short reason per option (about 200 tokens of the tiny tokenizer). What the offline
    tiny model can learn in a minute of SFT; it still earns the rewards it teaches."""
    it = item if isinstance(item, Item) else Item.from_dict(item)
    findings = case_findings(it.question, k=2, max_words=5) or ["the case"]
    f0, f1 = findings[0], findings[-1]
    lines = ["First, the findings: " + "; ".join(f'"{f}"' for f in dict.fromkeys(findings)) + "."]
    lines.append("Then I weigh each option in turn.")
    reasons = iter(_SHORT_REASONS)
    for k in it.options:
        if k == it.answer:
            lines.append(f'Option {k} fits "{f0}"; most likely.')
        else:
            lines.append(f"Option {k}: {next(reasons, 'it does not fit')}; ruled out.")
    lines.append(f'To verify, option {it.answer} is consistent with "{f1}".')
    dx = "\n".join(lines)
    conclusion = f'Given "{f0}", option {it.answer} is the answer. \\boxed{{{it.answer}}}'
    return f"<dx>\n{dx}\n</dx>\n<conclusion>\n{conclusion}\n</conclusion>"


def write_trace(
    item: Item | dict[str, Any], seed: int = 0, style: str | None = None, *, brief: bool = False
) -> str:
    """One honest ``crpo`` trace for ``item``, its wording and format drawn from ``seed``
    (``brief``: see :func:`plan`)."""
    rng = random.Random(f"{seed}:{_item_key(item)}")
    p = plan(item, rng, brief=brief)
    style = style or rng.choice(styles_for(p.options))
    quote = rng.choice((('"', '"'), ("“", "”")))
    return render(p, style, quote)


def _item_key(item: Item | dict[str, Any]) -> str:
    if isinstance(item, Item):
        return item.id or item.question[:80]
    return str(item.get("id") or str(item.get("question", ""))[:80])


def verified_trace(
    item: Item, seed: int = 0, tries: int = 8, *, brief: bool = False
) -> tuple[str, dict[str, Any]] | None:
    """A trace that the CRPO rewards verify (correct, faithfulness and comprehensiveness at
    least 0.6), trying up to ``tries`` wordings (``brief``: see :func:`plan`); ``None`` when
    none passes."""
    from clinr1.rewards import score_completion

    for t in range(tries):
        text = write_trace(item, seed=seed * 1000 + t, brief=brief)
        s = score_completion(text, item)
        if (
            s["accuracy"] == 1.0
            and s["faithfulness"] >= MIN_FAITHFULNESS
            and s["comprehensiveness"] >= MIN_COMPREHENSIVENESS
        ):
            return text, s
    return None


def write_traces(
    items: Iterable[Item],
    path: str | Path,
    *,
    seed: int = 0,
    compact: bool = False,
    wordings: int = 1,
    brief: bool = False,
) -> Path:
    """Write the SFT traces file (item fields + ``completion``) that ``clinr1 sft`` reads.

    Varied traces are kept only when the rewards verify them (:func:`verified_trace`); an item
    with none is left out. ``wordings``: traces per item, seeds ``seed`` to ``seed +
    wordings - 1`` (all the first wordings, then all the second, ...). ``compact``: the regular
    :func:`compact_trace` for every item, once. ``brief``: shorter varied traces (:func:`plan`).
    Written to a temporary file first, so a killed run leaves no half file."""
    items = list(items)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for wording in range(1 if compact else wordings):
            for item in items:
                if compact:
                    text = compact_trace(item)
                else:
                    got = verified_trace(item, seed + wording, brief=brief)
                    if got is None:
                        continue
                    text = got[0]
                row: dict[str, Any] = item.to_dict()
                row["completion"] = text
                f.write(json.dumps(row) + "\n")
    tmp.replace(p)
    return p
