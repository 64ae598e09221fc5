"""LoopStop: a row that repeats itself is ended and marked; other rows are left alone."""

from __future__ import annotations

import torch

from clinr1.evaluate.loops import LoopStop

EOS, PAD = 2, 0
PROMPT = [5, 6, 7, 8]


def feed(rows: list[list[int]], stop: LoopStop) -> list[list[bool]]:
    """Call ``stop`` as ``generate`` does, once per generated token; the flags after each."""
    flags = []
    for step in range(1, len(rows[0]) + 1):
        ids = torch.tensor([PROMPT + row[:step] for row in rows])
        flags.append(stop(ids, None).tolist())
    return flags


def test_a_loop_is_stopped_after_its_third_window() -> None:
    loop = [11, 12, 13, 14, 15] * 20  # period 5
    varied = list(range(100, 200))  # never repeats
    flags = feed([loop, varied], LoopStop(len(PROMPT), {EOS, PAD}, window=8, repeats=3))
    first = next(i for i, f in enumerate(flags) if f[0])
    assert first == 8 + 2 * 5 - 1  # the window's third appearance, 18 tokens in
    assert not any(f[1] for f in flags)


def test_an_ended_row_padded_after_eos_is_not_a_loop() -> None:
    ended = [21, 22, EOS, *[PAD] * 40]  # the padding repeats, but the row has ended
    flags = feed([ended], LoopStop(len(PROMPT), {EOS, PAD}, window=8, repeats=3))
    assert not any(f[0] for f in flags)


def test_a_span_repeated_twice_is_not_a_loop() -> None:
    span = list(range(30, 40))
    text = [*span, 1, 3, 4, *span, *range(50, 70)]  # a quote given twice, as honest text
    flags = feed([text], LoopStop(len(PROMPT), {EOS, PAD}, window=8, repeats=3))
    assert not any(f[0] for f in flags)
