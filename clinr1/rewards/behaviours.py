"""The four reasoning behaviours of comprehensiveness, each credited only with substance.

A sentence (unit) of the reasoning or the conclusion shows a behaviour when it holds one of the
behaviour's cues (:data:`~clinr1.rewards.lexicon.BEHAVIOUR_CUES`) *and* its anchor, in the unit
itself (or, for a header of at most four words such as "To verify:", in the sentence it
introduces, which it then uses up; never across the <dx>/<conclusion> boundary):

=====================  =========================================================================
behaviour              anchor
=====================  =========================================================================
``verification``       names the leading option (the boxed one, else the one the <dx> favours)
                       and cites a finding of the case (a grounded quote, or two content words in
                       a row from the case, one informative: "extensive fibrosis")
``backward_chaining``  names an option and cites a finding of the case
``backtracking``       turns an option's standing verdict over (ruled in before, out after, or
                       the reverse; strong verdicts decide, as everywhere): a revision, not a
                       sentence that narrates one
``subgoal``            ordinal steps ("First, ...", "Then ...", "Step 2:", "3.") opening two
                       units of at least four words, two of them content words; or one such step
                       and a sub-goal phrase ("we need to determine ...")
=====================  =========================================================================

A repeated unit counts once, and **one unit earns at most one behaviour**: units are matched to
behaviours so that as many behaviours as possible are credited, each by its own unit(s).
``counts`` (for evaluation) are the numbers of distinct units that show each behaviour with its
anchor.
"""

from __future__ import annotations

from dataclasses import dataclass

from clinr1.rewards.cues import Cue, verdict_sign
from clinr1.rewards.grounding import CaseModel, Grounding, cites_finding
from clinr1.rewards.lexicon import BEHAVIOURS, STEP_RE
from clinr1.rewards.reading import Reading, UnitReading
from clinr1.rewards.text import is_content, normalise

MIN_STEP_WORDS = 4
_ANCHORED = frozenset({"verification", "backward_chaining"})  # need a finding of the case
HEADER_WORDS = 4  # a cue sentence this short ("To verify:") is a header for the next one
_STEP_FIRST = frozenset("sfnt0123456789*#>-| \t")


@dataclass(frozen=True)
class Behaviours:
    """Distinct units showing each behaviour with its anchor (``counts``), and the credits."""

    counts: dict[str, int]
    credited: dict[str, bool]

    @property
    def score(self) -> float:
        return sum(self.credited.values()) / len(BEHAVIOURS)


NO_BEHAVIOURS = Behaviours(dict.fromkeys(BEHAVIOURS, 0), dict.fromkeys(BEHAVIOURS, False))


def _step(u: UnitReading) -> str | None:
    """The ordinal marker opening ``u`` ("first", "2", "then"), if it opens a real step."""
    if not u.low or u.low[0] not in _STEP_FIRST:
        return None
    m = STEP_RE.match(u.low)
    if m is None:
        return None
    words = normalise(u.raw).split()
    if len(words) < MIN_STEP_WORDS or sum(map(is_content, words)) < 2:
        return None
    return next(g for g in m.groups() if g).removesuffix("ly")


def find_behaviours(reading: Reading, case: CaseModel, grounding: Grounding) -> Behaviours:
    """Count and credit the four behaviours of ``reading`` (see the module docstring)."""
    grounded = frozenset(grounding.grounded)
    leading = reading.leading
    candidates: dict[str, list[frozenset[int]]] = {b: [] for b in BEHAVIOURS}
    steps: dict[int, str] = {}
    phrases: list[int] = []
    seen: set[str] = set()
    so_far: dict[str, list[Cue]] = {}  # option -> the verdict cues it has been given so far
    offset = 0
    for section in (reading.reasoning, reading.conclusion):
        for j, u in enumerate(section):
            k = offset + j
            key = " ".join(u.raw.split())
            fresh = key not in seen
            seen.add(key)
            found = frozenset().union(*(c.behaviours for c in u.cues)) if u.cues else frozenset()
            if fresh:
                step = _step(u)
                if step is not None:
                    steps[k] = step
                if "subgoal" in found:
                    phrases.append(k)
            if fresh and found - {"subgoal"}:
                # A short header ("To verify:", "Wait.") takes its anchor from the sentence it
                # introduces, and then uses up that sentence too.
                nxt = section[j + 1] if j + 1 < len(section) else None
                if nxt is not None and len(u.raw.split()) > HEADER_WORDS:
                    nxt = None
                used = frozenset({k, k + 1}) if nxt is not None else frozenset({k})
                window = [u] if nxt is None else [u, nxt]
                letters = frozenset().union(*(x.letters for x in window))
                text = " ".join(x.raw for x in window)
                cites = (found & _ANCHORED) and cites_finding(text, case, grounded)
                if cites and "verification" in found and leading in letters:
                    candidates["verification"].append(used)
                if cites and "backward_chaining" in found and letters:
                    candidates["backward_chaining"].append(used)
                if "backtracking" in found and _changes(window, so_far, reading.negative):
                    candidates["backtracking"].append(used)
            if not u.repeated:
                for letter, cues in u.verdicts.items():
                    so_far.setdefault(letter, []).extend(cues)
        offset += len(section)
    counts = {b: len(candidates[b]) for b in BEHAVIOURS}
    counts["subgoal"] = len(steps) + len(phrases)
    credited = _match(candidates, steps, phrases)
    return Behaviours(counts, credited)


def _changes(window: list[UnitReading], so_far: dict[str, list[Cue]], negative: int) -> bool:
    """Whether a backtracking sentence (with the sentence it introduces) turns an option's
    standing verdict over: ruled in before and out after, or the reverse. A sentence that only
    narrates ("initially A looked attractive", after A was ruled out) leaves it as it was."""
    for letter in frozenset().union(*(x.verdicts for x in window)):
        before = so_far.get(letter, [])
        added = [c for x in window for c in x.verdicts.get(letter, ())]
        old, new = verdict_sign(before, negative), verdict_sign([*before, *added], negative)
        if old and new and old != new:
            return True
    return False


def _match(
    candidates: dict[str, list[frozenset[int]]], steps: dict[int, str], phrases: list[int]
) -> dict[str, bool]:
    """Credit as many behaviours as possible, no unit serving two (a tiny exhaustive search)."""
    order = ["subgoal", "verification", "backward_chaining", "backtracking"]
    best: dict[str, bool] = dict.fromkeys(BEHAVIOURS, False)

    def subgoal_options(used: frozenset[int]) -> list[frozenset[int]]:
        free = [(k, m) for k, m in steps.items() if k not in used]
        out: list[frozenset[int]] = []
        for i, (k1, m1) in enumerate(free):
            out += [frozenset({k1, k2}) for k2, m2 in free[i + 1 :] if m2 != m1][:2]
            out += [frozenset({k1, p}) for p in phrases if p not in used and p != k1][:2]
        return out[:6]

    def search(i: int, used: frozenset[int], credited: dict[str, bool]) -> None:
        nonlocal best
        if sum(credited.values()) > sum(best.values()):
            best = dict(credited)
        if i == len(order) or sum(best.values()) == len(order):
            return
        name = order[i]
        if name == "subgoal":
            options = subgoal_options(used)
        else:
            options = [c for c in candidates[name] if not c & used][:6]
        for units in options:
            credited[name] = True
            search(i + 1, used | units, credited)
            credited[name] = False
        search(i + 1, used, credited)

    search(0, frozenset(), dict.fromkeys(BEHAVIOURS, False))
    return best
