r"""The verifiable accuracy reward (the paper's k-weighted objective): strict, for training.

Evaluation extracts answers leniently (:mod:`clinr1.rewards.extract`); the training reward
does not, so that the policy learns the one answer form it is asked for.
"""

from __future__ import annotations

from typing import Any, ClassVar

from clinr1.rewards.base import ItemView, Reward
from clinr1.rewards.parse import gold_letter, parse, strict_answer


class Accuracy(Reward):
    r"""1 if the completion holds exactly one ``\boxed{L}`` and L is the gold letter, else 0.

    Formula: ``accuracy = [n_boxed == 1 and box holds one letter L in options and L == gold]``.
    Range {0, 1}; default weight 10 (the paper's k). Several boxes, an unclosed ``\boxed``, several
    letters in one box, or a letter outside the item's options all give 0. The box may be written
    ``\boxed{C}``, ``\boxed{(C)}``, ``\boxed{C.}`` or ``\boxed{\text{C}}``. The template is not
    checked here (that is :class:`~clinr1.rewards.format.Format`).

    >>> acc = Accuracy()
    >>> acc([r"... \boxed{C}", r"\boxed{A}\boxed{C}", r"\boxed{A, C}"], answer=["C"] * 3,
    ...     options=[{"A": "x", "B": "y", "C": "z"}] * 3)
    [1.0, 0.0, 0.0]
    """

    name = "accuracy"
    default_weight: ClassVar[float] = 10.0  # the paper's k

    def details(self, text: str, item: ItemView) -> dict[str, Any]:
        options = dict(item.options)
        boxed = strict_answer(parse(text, self.template), options)
        gold = gold_letter(item.answer, options)
        return {"accuracy": float(boxed is not None and boxed == gold), "boxed": boxed}
