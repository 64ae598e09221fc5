r"""The comprehensiveness reward: are the distractors ruled out, is the reasoning complete?

The paper names the objective but not its formula; this is ours (see ``docs/crpo.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clinr1.rewards.base import ItemView, Reward
from clinr1.rewards.lexicon import BEHAVIOURS, STEP_RE, STEP_STARTS
from clinr1.rewards.parse import (
    NONE,
    QUOTE_RE,
    Reading,
    case_pairs,
    length_factor,
    normalise,
    read,
    shares_pair,
)

COVERAGE_WEIGHT = 0.6
BEHAVIOUR_SET = frozenset(BEHAVIOURS)
STEP_PREFIXES = (*STEP_STARTS, "*", "#", ">", "-")
STEP_FIRST = frozenset(p[0] for p in STEP_PREFIXES)


@dataclass(frozen=True)
class Behaviours:
    """Distinct sentences showing each behaviour (``counts``) and the anchored ones credited."""

    counts: dict[str, int]
    credited: dict[str, bool]


def _refers_to_case(unit: str, case: frozenset[tuple[str, str]]) -> bool:
    """A sentence refers to the case if it quotes something or shares a content-word pair
    ("extensive fibrosis", "night sweats") with it."""
    if QUOTE_RE.search(unit):
        return True
    return bool(case) and shares_pair(normalise(unit).split(), case)


def find_behaviours(reading: Reading, question: str, context: str = "") -> Behaviours:
    """Count and credit the four reasoning behaviours in the reasoning and the conclusion.

    A sentence (unit) counts for a behaviour when it holds one of the behaviour's cues
    (:data:`clinr1.rewards.lexicon.BEHAVIOUR_CUES`) *and* its anchor, in the unit itself or the
    next one: ``verification`` names the boxed option and refers to the case (a quote or a
    content-word pair of the question); ``backward_chaining`` names an option or refers to the case;
    ``backtracking`` names an option; ``subgoal`` needs two distinct ordinal step markers opening
    sentences of at least 4 words ("First", "Then", "Step 2", "3."), or one marker and a sub-goal
    phrase. A repeated sentence counts once; a behaviour is credited at most once.
    """
    case = case_pairs(question, context)
    boxed = reading.boxed
    counts = dict.fromkeys(BEHAVIOURS, 0)
    credited = dict.fromkeys(BEHAVIOURS, False)
    seen: set[str] = set()
    steps: set[str] = set()
    subgoal_phrase = False
    for r in (reading.reasoning, reading.conclusion):
        spans = r.section.spans
        low = r.lower
        behaviour_units = {i for i, kinds in r.cues.items() if not kinds.isdisjoint(BEHAVIOUR_SET)}
        for i, (s, e) in enumerate(spans):
            if i not in behaviour_units and (
                low[s] not in STEP_FIRST or not low.startswith(STEP_PREFIXES, s)
            ):
                continue
            found = r.cues.get(i, NONE) & BEHAVIOUR_SET
            unit = low[s:e].lstrip(" \t*#>-")
            step = STEP_RE.match(unit) if unit.startswith(STEP_STARTS) else None
            if step is None and not found:
                continue
            if unit in seen:
                continue
            seen.add(unit)
            is_subgoal = "subgoal" in found
            subgoal_phrase = subgoal_phrase or is_subgoal
            if step is not None and len(unit.split()) >= 4:
                steps.add(next(g for g in step.groups() if g).removesuffix("ly"))
                is_subgoal = True
            counts["subgoal"] += is_subgoal
            if not found - {"subgoal"}:
                continue
            nxt = i + 1 if i + 1 < len(spans) else i
            window = r.letters.get(i, NONE) | r.letters.get(nxt, NONE)
            text = f"{unit} {r.lower[spans[nxt][0] : spans[nxt][1]]}"
            for behaviour in found - {"subgoal"}:
                counts[behaviour] += 1
                if credited[behaviour]:
                    continue
                if behaviour == "verification":
                    ok = boxed is not None and boxed in window and _refers_to_case(text, case)
                elif behaviour == "backward_chaining":
                    ok = bool(window) or _refers_to_case(text, case)
                else:  # backtracking
                    ok = bool(window)
                credited[behaviour] = ok
    credited["subgoal"] = len(steps) >= 2 or (len(steps) >= 1 and subgoal_phrase)
    return Behaviours(counts, credited)


class Comprehensiveness(Reward):
    r"""Distractor rejection coverage and reasoning behaviours, each behaviour credited once.

    Formula: ``comprehensiveness = L * S * (w * D + (1 - w) * B)`` with ``w = coverage_weight``
    (default 0.6), range [0, 1], default weight 1:

    * ``S``, ``L``: the structure gate and length factor of
      :class:`~clinr1.rewards.faithfulness.Faithfulness`.
    * ``D`` (``comprehensiveness/distractor_coverage``): of the options other than the single
      boxed one, the fraction whose ``<dx>`` block rules it out (verdict cues, see
      :func:`~clinr1.rewards.parse.verdict_of`) with a reason: at least 5 words besides the
      option's own name, not the same words as another option's block. 0 without a single valid
      box, or when the ``<dx>`` rules out the boxed option too.
    * ``B`` (``comprehensiveness/behaviours``): the mean of four 0/1 credits, ``verification``,
      ``subgoal``, ``backward_chaining`` and ``backtracking`` (see :func:`find_behaviours`).

    >>> item = {"question": "A man has had a cough for 3 weeks and night sweats. Diagnosis?",
    ...         "options": {"A": "Asthma", "B": "Tuberculosis"}, "answer": "B"}
    >>> text = ('<dx>Option A: asthma gives wheeze, not sweats and weight loss; ruled out. '
    ...         'Option B: fits the findings; most likely.</dx><conclusion>\\boxed{B}</conclusion>')
    >>> Comprehensiveness()([text], **{k: [v] for k, v in item.items()})
    [0.6]
    """

    name = "comprehensiveness"

    def __init__(self, template: str = "crpo", *, coverage_weight: float = COVERAGE_WEIGHT) -> None:
        super().__init__(template)
        if not isinstance(coverage_weight, (int, float)) or not 0 <= coverage_weight <= 1:
            raise ValueError(f"reward {self.name!r}: coverage_weight must be in [0, 1]")
        self.coverage_weight = float(coverage_weight)

    def details(self, text: str, item: ItemView) -> dict[str, Any]:
        r = read(text, item.options, self.template)
        p = r.parsed
        gate = float(p.well_formed) * length_factor(p.length)
        boxed = r.boxed
        others = [k for k, _ in item.options if k != boxed]
        ruled_out = [
            k
            for k in others
            if (a := r.assessments.get(k)) is not None and a.verdict == "out" and a.reasoned
        ]
        chosen = r.assessments.get(boxed) if boxed else None
        coverage = 0.0
        if boxed is not None and others and (chosen is None or chosen.verdict != "out"):
            coverage = len(ruled_out) / len(others)
        if gate:
            behaviours = find_behaviours(r, item.question, item.context)
        else:
            behaviours = Behaviours(dict.fromkeys(BEHAVIOURS, 0), dict.fromkeys(BEHAVIOURS, False))
        b = sum(behaviours.credited.values()) / len(BEHAVIOURS)
        w = self.coverage_weight
        out: dict[str, Any] = {
            "comprehensiveness": gate * (w * coverage + (1 - w) * b),
            "comprehensiveness/distractor_coverage": gate * coverage,
            "comprehensiveness/behaviours": gate * b,
        }
        for name in BEHAVIOURS:
            out[f"comprehensiveness/{name}"] = gate * float(behaviours.credited[name])
        for name in BEHAVIOURS:
            out[f"counts/{name}"] = behaviours.counts[name]
        out["counts/options_assessed"] = len(r.assessments)
        out["counts/options_ruled_out"] = len(ruled_out)
        return out
