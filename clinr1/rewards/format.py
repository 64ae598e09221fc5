r"""The format reward: does the completion follow its template's structure?"""

from __future__ import annotations

from typing import Any, ClassVar

from clinr1.rewards.base import ItemView, Reward
from clinr1.rewards.parse import WORD_RE, parse


class Format(Reward):
    r"""The template's structure, scored in three equal parts.

    Formula: ``format = (S + S * B + S * O) / 3`` with

    * ``S`` (``format/sections``): the template's sections each open and close exactly once, in
      order, nothing nested (``crpo``: ``<dx>`` then ``<conclusion>``; ``r1``: ``<think>`` then
      ``<answer>``; ``plain``: the text is not blank);
    * ``B`` (``format/single_box``): exactly one ``\boxed`` in the whole text, inside the
      conclusion (``<conclusion>``/``<answer>``/the last paragraph);
    * ``O`` (``format/nothing_outside``): at most ``max_outside_words`` words outside the
      sections (``plain``: after the box).

    Range [0, 1] in steps of 1/3. Default weight 0: logged, not optimised, as faithfulness and
    comprehensiveness already give nothing without the sections (the total stays at most 12).

    >>> Format()(["<dx>a</dx><conclusion>\\boxed{A}</conclusion>", "<dx>a</dx>"],
    ...          options=[{"A": "x"}] * 2)
    [1.0, 0.0]
    """

    name = "format"
    default_weight: ClassVar[float] = 0.0  # logged, not optimised

    def __init__(self, template: str = "crpo", *, max_outside_words: int = 3) -> None:
        super().__init__(template)
        if not isinstance(max_outside_words, int) or max_outside_words < 0:
            raise ValueError(f"reward {self.name!r}: max_outside_words must be an integer >= 0")
        self.max_outside_words = max_outside_words

    def details(self, text: str, item: ItemView) -> dict[str, Any]:
        p = parse(text, self.template)
        sections = float(p.well_formed)
        single_box = float(
            p.well_formed
            and p.n_box_commands == 1
            and len(p.boxes) == 1
            and p.boxes[0].in_conclusion
        )
        quiet = float(p.well_formed and len(WORD_RE.findall(p.outside)) <= self.max_outside_words)
        return {
            "format": (sections + single_box + quiet) / 3,
            "format/sections": sections,
            "format/single_box": single_box,
            "format/nothing_outside": quiet,
        }
