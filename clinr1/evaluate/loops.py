"""Stopping a greedy completion that has fallen into a loop.

A small model decoding greedily often ends in a loop: the same sentence, or the same list item,
over and over until the token cap. Such an answer never reaches its box, so every reward pays 0
for it whether it stops at the loop or at the cap; but the batch it sits in keeps generating
until its longest row ends, and on a CPU a looping row costs minutes. :class:`LoopStop` ends a
row once its last ``window`` tokens have already appeared ``repeats - 1`` times in what it
generated (a loop of any period up to ``window`` is caught after ``window + 2 * period``
tokens, a longer one after three periods). The row is then marked ``looped``: the evaluation
records it, and counts it with the answers cut off at the cap.

Honest answers repeat short spans (a quoted finding, "ruled out."), not 32 tokens three times.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import torch
from transformers import StoppingCriteria

WINDOW = 32
REPEATS = 3


class LoopStop(StoppingCriteria):
    """Per-row stop for ``model.generate`` once the row's last ``window`` tokens recur.

    ``prompt_len`` is the padded prompt length (only generated tokens are read) and
    ``stop_ids`` the end-of-sequence and padding ids: a row that has ended is never marked.
    """

    def __init__(
        self,
        prompt_len: int,
        stop_ids: Collection[int],
        window: int = WINDOW,
        repeats: int = REPEATS,
    ) -> None:
        self.prompt_len = prompt_len
        self.stop_ids = frozenset(stop_ids)
        self.window = window
        self.repeats = repeats
        self.looped: list[bool] = []
        self._ended: list[bool] = []
        self._seen: list[dict[int, int]] = []  # hash of a window -> how often it appeared

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        rows = input_ids.shape[0]
        if not self.looped:
            self.looped = [False] * rows
            self._ended = [False] * rows
            self._seen = [{} for _ in range(rows)]
        last = input_ids[:, -1].tolist()
        if input_ids.shape[1] - self.prompt_len >= self.window:
            tails = input_ids[:, -self.window :].tolist()
            for i in range(rows):
                if self._ended[i] or self.looped[i]:
                    continue
                if last[i] in self.stop_ids:
                    self._ended[i] = True
                    continue
                key = hash(tuple(tails[i]))  # ints only: a few MB for a long batch
                seen = self._seen[i]
                seen[key] = seen.get(key, 0) + 1
                if seen[key] >= self.repeats:
                    self.looped[i] = True
                    seen.clear()
        else:
            for i in range(rows):
                self._ended[i] = self._ended[i] or last[i] in self.stop_ids
        return torch.tensor(self.looped, dtype=torch.bool, device=input_ids.device)
