"""Stock reasons: rule-out reasons a policy writes the same way whatever the question.

A reason is judged within one completion by its own words (``distinct_reasons``): three or more,
not only the case's, different from the other options' reasons. Nothing in one completion can
tell "its triggers and risk factors are absent", or "alpha beta gamma", from a real reason; what
gives a stock reason away is that it comes back, for other questions. During training the
comprehensiveness reward keeps a :class:`StockReasons` memory: after each batch it records the
own words of every rule-out reason with the question it was written for, and from then on a
reason whose words (give or take a word or two, as in ``distinct_reasons``) were already given
for ``threshold`` other questions is no reason. Honest reasons name what is particular to the
option and the case, so they rarely come back.

This makes the training reward depend on what came before (within one run, on one process).
Evaluation and ``clinr1 score`` score each completion on its own, without the memory.
"""

from __future__ import annotations

from collections import OrderedDict

CAPACITY = 20_000  # signatures kept (the most recently seen), ~ a few MB


def near(words: frozenset[str], other: frozenset[str]) -> bool:
    """Whether ``words`` adds fewer than two words, or less than half of its words, to ``other``
    (the rule that makes two reasons one)."""
    need = max(2, (len(words) + 1) // 2)
    return len(words - other) < need


class StockReasons:
    """Own-word sets of reasons, with the questions each was written for (see the module)."""

    def __init__(self, threshold: int = 3, capacity: int = CAPACITY) -> None:
        self.threshold = threshold
        self.capacity = capacity
        self.questions: OrderedDict[frozenset[str], set[int]] = OrderedDict()
        self.index: dict[str, set[frozenset[str]]] = {}

    def is_stock(self, words: frozenset[str], question: int) -> bool:
        """Whether a reason like ``words`` was given for ``threshold`` other questions."""
        if self.threshold <= 0 or not words:
            return False
        candidates = set().union(*(self.index.get(w, ()) for w in words))
        others: set[int] = set()
        for signature in candidates:
            if near(words, signature) and near(signature, words):
                others |= self.questions[signature] - {question}
                if len(others) >= self.threshold:
                    return True
        return False

    def add(self, words: frozenset[str], question: int) -> None:
        """Record that a reason with these own words was written for ``question``."""
        if not words:
            return
        seen = self.questions.get(words)
        if seen is None:
            seen = self.questions[words] = set()
            for w in words:
                self.index.setdefault(w, set()).add(words)
            if len(self.questions) > self.capacity:
                old, _ = self.questions.popitem(last=False)
                for w in old:
                    self.index.get(w, set()).discard(old)
        else:
            self.questions.move_to_end(words)
        seen.add(question)
