"""``clinr1 chat``: talk to a model, in the terminal or on a web page (``--web``).

* :mod:`clinr1.chat.conversation` -- the messages, the context check, pasted cases and their CRPO
  scores, the reply cut into sections; no I/O;
* :mod:`clinr1.chat.terminal` -- the terminal loop and its coloured, streaming reply;
* :mod:`clinr1.chat.web` -- the same conversation as a Gradio page (imported only for ``--web``).

The model behind them streams through :class:`clinr1.evaluate.generate.HFStreamer`.
"""

from clinr1.chat.conversation import (
    COMMANDS,
    Backend,
    CaseError,
    Conversation,
    Piece,
    Reply,
    TooLong,
    banner,
    boxed_letter,
    case_scores,
    parse_case,
    pieces,
    score_rows,
    stable_end,
)
from clinr1.chat.terminal import ReplyPrinter, TerminalChat

__all__ = [
    "COMMANDS",
    "Backend",
    "CaseError",
    "Conversation",
    "Piece",
    "Reply",
    "ReplyPrinter",
    "TerminalChat",
    "TooLong",
    "banner",
    "boxed_letter",
    "case_scores",
    "parse_case",
    "pieces",
    "score_rows",
    "stable_end",
]
