"""What every reward shares: the TRL calling convention, column broadcasting, never raising.

A reward is a small callable class (picklable, with a stable ``__name__`` that TRL logs as
``rewards/<name>/mean``). Subclasses implement :meth:`Reward.details`, which scores one
completion against one item and returns the score under the reward's name plus its sub-scores;
``__call__`` maps it over a TRL batch.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

from clinr1.prompts import check_template
from clinr1.rewards.parse import completion_text, options_key


class ItemView(NamedTuple):
    """The item columns a reward reads: gold ``answer``, ``options``, ``question``, ``context``."""

    answer: Any
    options: tuple[tuple[str, str], ...]
    question: str
    context: str


def item_view(item: Any) -> ItemView:
    """An :class:`ItemView` of an ``Item`` or a mapping in the unified schema."""
    get = item.get if isinstance(item, Mapping) else lambda k, d=None: getattr(item, k, d)
    return ItemView(
        answer=get("answer"),
        options=options_key(get("options")),
        question=str(get("question") or ""),
        context=str(get("context") or ""),
    )


def _column(value: Any, n: int) -> Sequence[Any]:
    """TRL passes one value per completion; a single value is broadcast (handy in doctests)."""
    if isinstance(value, (list, tuple)) and len(value) == n:
        return value
    return [value] * n


def _prompt_question(prompt: Any) -> str:
    """The user turn of a prompt, used as the case text when no ``question`` column is given."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, (list, tuple)):
        users = [m for m in prompt if isinstance(m, Mapping) and m.get("role") == "user"]
        if users:
            return completion_text([dict(users[-1], role="assistant")])
    return ""


class Reward:
    """Base of the CRPO rewards; see the subclasses for each formula."""

    name: ClassVar[str] = ""
    # The weight a recipe entry without ``weight`` gets; the registry derives DEFAULT_WEIGHTS.
    default_weight: ClassVar[float] = 1.0
    low: ClassVar[float] = 0.0
    high: ClassVar[float] = 1.0

    def __init__(self, template: str = "crpo") -> None:
        try:
            self.template = check_template(template)
        except ValueError as e:
            raise ValueError(f"reward {self.name!r}: {e}") from None
        self.__name__ = self.name

    def details(self, text: str, item: ItemView) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    def safe_details(self, text: str, item: ItemView) -> dict[str, Any]:
        """:meth:`details` with the score clamped to its range; ``{name: 0.0}`` on any error."""
        try:
            out = self.details(text, item)
            value = float(out[self.name])
        except Exception:  # a reward never raises on model output
            return {self.name: 0.0}
        out[self.name] = 0.0 if math.isnan(value) else min(self.high, max(self.low, value))
        return out

    def score(self, text: str, item: ItemView) -> float:
        """This reward for one completion, clamped to its range; 0.0 if anything goes wrong."""
        return self.safe_details(text, item)[self.name]

    def __call__(
        self,
        completions: Sequence[Any],
        *,
        answer: Any = None,
        options: Any = None,
        question: Any = None,
        context: Any = None,
        prompts: Any = None,
        **_: Any,
    ) -> list[float]:
        n = len(completions)
        answers = _column(answer, n)
        opts = _column(options, n)
        questions = _column(question, n)
        contexts = _column(context, n)
        prompt_col = _column(prompts, n)
        out = []
        texts: list[str] = []
        items: list[ItemView] = []
        for i, completion in enumerate(completions):
            try:
                q = questions[i]
                if q is None:
                    q = _prompt_question(prompt_col[i])
                item = ItemView(
                    answer=answers[i],
                    options=options_key(opts[i]),
                    question=str(q or ""),
                    context=str(contexts[i] or ""),
                )
                text = completion_text(completion)
                out.append(self.score(text, item))
                texts.append(text)
                items.append(item)
            except Exception:  # a reward never raises on model output
                out.append(0.0)
        with contextlib.suppress(Exception):  # remembering is best effort; the scores stand
            self.observe(texts, items)
        return out

    def observe(self, texts: Sequence[str], items: Sequence[ItemView]) -> None:
        """Called after each batch with what was scored (a reward with memory records it)."""

    def __repr__(self) -> str:
        params = ", ".join(
            f"{k}={v!r}" for k, v in vars(self).items() if k != "__name__" and not k.startswith("_")
        )
        return f"{type(self).__name__}({params})"
