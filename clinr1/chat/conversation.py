"""The chat without a terminal or a model: a conversation, its pasted cases and their scores.

:class:`Conversation` holds the messages (system prompt first), refuses an input that leaves no
room for the reply in the context (:class:`TooLong`), and scores a pasted case
(:func:`parse_case`) with the CRPO rewards (:func:`case_scores`). :func:`pieces` cuts a reply,
complete or still streaming, into its sections with the reward parser's own patterns, so what
is shown as a section is what the rewards read as one. The terminal (:mod:`clinr1.chat.terminal`)
and the web page (:mod:`clinr1.chat.web`) are two views of it; the model behind it is any
:class:`Backend` (:class:`clinr1.evaluate.generate.HFStreamer` streams from a transformers model).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from clinr1.cards import DISCLAIMER
from clinr1.items import LETTERS, Item
from clinr1.prompts import system_prompt
from clinr1.rewards.parse import BOX_RE, box_letter, parse, tag_pattern

COMMANDS = "/case  /reset  /save FILE  /exit"
Messages = list[dict[str, str]]

# One option line of a pasted case: "A. text", "A) text", "(A) text", "A: text".
OPTION_LINE_RE = re.compile(r"^\s*[(\[]?([A-J])\s*[.):\]]\s*(\S.*)$")
_HEADER_RE = re.compile(r"^\s*(question|options|answer choices|choices)\s*:\s*$", re.IGNORECASE)


class Backend(Protocol):
    """What the chat needs from a model."""

    context: int  # tokens the model attends to: prompt + reply
    max_new_tokens: int

    def count_tokens(self, messages: Messages) -> int: ...

    def stream(self, messages: Messages, stop: threading.Event) -> Iterator[str]: ...


# --- cutting a reply into its sections -----------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """A run of reply text: ``kind`` is ``tag`` (a section tag itself), ``box`` (a
    ``\\boxed{...}``) or ``text``; ``section`` the open section (``dx``, ``conclusion``...)."""

    kind: str
    section: str | None
    text: str


def pieces(text: str, template: str = "crpo") -> list[Piece]:
    """Cut ``text`` (complete or still streaming) into pieces for display.

    The tags and boxes are found with the reward parser's own patterns, so what is shown as a
    section is what the rewards read as one.

    >>> [(p.kind, p.section) for p in pieces("<dx>a</dx><conclusion>\\\\boxed{B}</conclusion>")]
    [('tag', 'dx'), ('text', 'dx'), ('tag', 'dx'), ('tag', 'conclusion'), ('box', 'conclusion'), \
('tag', 'conclusion')]
    """
    out: list[Piece] = []
    section: str | None = None
    pos = 0

    def plain(end: int) -> None:
        start = pos
        for m in BOX_RE.finditer(text, start, end):
            if m.start() > start:
                out.append(Piece("text", section, text[start : m.start()]))
            out.append(Piece("box", section, m.group(0)))
            start = m.end()
        if end > start:
            out.append(Piece("text", section, text[start:end]))

    tag_re = tag_pattern(template)
    for m in tag_re.finditer(text) if tag_re else ():
        plain(m.start())
        closing, tag = bool(m.group(1)), m.group(2).lower()
        out.append(Piece("tag", tag, m.group(0)))
        section = None if closing else tag
        pos = m.end()
    plain(len(text))
    return out


def stable_end(text: str) -> int:
    """How much of a streaming reply can be shown without a tag or a box being cut in two:
    the text up to a trailing ``<...`` not yet closed, or a ``\\boxed{...`` not yet complete."""
    end = len(text)
    lt = text.rfind("<")
    if lt != -1 and ">" not in text[lt:] and end - lt <= 24:
        end = lt
    slash = text.rfind("\\")
    if slash != -1 and len(text) - slash <= 8 and "\\boxed".startswith(text[slash:]):
        end = min(end, slash)
    box = text.rfind("\\boxed")
    if box != -1 and len(text) - box <= 48 and not BOX_RE.match(text, box):
        end = min(end, box)
    return end


def boxed_letter(text: str, template: str = "crpo") -> str | None:
    """The letter in the reply's last ``\\boxed{...}``, if it holds one."""
    boxes = parse(text, template).boxes
    return box_letter(boxes[-1].content) if boxes else None


# --- pasted cases and scores ---------------------------------------------------------------


class CaseError(ValueError):
    """A pasted case could not be read; the message says what to fix."""


def parse_case(text: str) -> Item:
    """A pasted case: the question, then one option a line (``A. text``, ``B) text``...).

    Option lines must run A, B, C... from A; ``Question:`` and ``Options:`` header lines (the
    form :func:`clinr1.prompts.format_question` writes) are dropped.

    >>> item = parse_case("Fever and rash?\\nA. Measles\\nB) Rubella")
    >>> item.question, item.options
    ('Fever and rash?', {'A': 'Measles', 'B': 'Rubella'})
    """
    question: list[str] = []
    options: dict[str, str] = {}
    for line in text.splitlines():
        m = OPTION_LINE_RE.match(line)
        if m and m.group(1) == LETTERS[len(options)]:
            options[m.group(1)] = m.group(2).strip()
        elif options and line.strip():
            last = list(options)[-1]  # a wrapped option line
            options[last] = f"{options[last]} {line.strip()}"
        elif not options and not _HEADER_RE.match(line):
            question.append(line)
    body = "\n".join(question).strip()
    if len(options) < 2:
        raise CaseError("a case needs at least two options, one a line: 'A. text', 'B. text'")
    if not body:
        raise CaseError("the case has options but no question before them")
    return Item(id="chat", source="chat", question=body, options=options, answer="")


def case_scores(reply: str, item: Item, gold: str | None, template: str) -> dict[str, Any]:
    """The CRPO scores of ``reply`` to ``item``; accuracy and total only with a ``gold`` letter."""
    from clinr1.rewards import score_completion

    scored = Item(**{**item.to_dict(), "answer": gold or ""})
    scores = score_completion(reply, scored, template)
    if not gold:
        scores["accuracy"] = None
        scores["total"] = None
    scores["gold"] = gold
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in scores.items()}


def score_rows(scores: dict[str, Any]) -> list[tuple[str, float | None, float]]:
    """(objective, score or ``None``, weight) for the score panel, every registered reward.

    Accuracy comes last: it waits for the gold letter.
    """
    from clinr1.rewards import DEFAULT_WEIGHTS

    names = sorted(DEFAULT_WEIGHTS, key=lambda name: name == "accuracy")
    return [(n, scores.get(n), DEFAULT_WEIGHTS[n]) for n in names]


# --- the conversation ----------------------------------------------------------------------


class TooLong(ValueError):
    """The input does not fit the context; the message is one line."""


@dataclass
class Reply:
    text: str
    interrupted: bool
    seconds: float


class Conversation:
    """The messages so far (system prompt first), cases and their scores; no I/O."""

    def __init__(self, backend: Backend, template: str = "crpo"):
        self.backend = backend
        self.template = template
        self.messages: Messages = []
        self.cases: list[dict[str, Any]] = []
        self.reset()

    def reset(self) -> None:
        self.messages = [{"role": "system", "content": system_prompt(self.template)}]
        self.cases = []

    def check(self, content: str) -> Messages:
        """The messages with ``content`` as the next user turn; :class:`TooLong` if they leave
        no room for a ``max_new_tokens`` reply in the context."""
        messages = [*self.messages, {"role": "user", "content": content}]
        n = self.backend.count_tokens(messages)
        room = self.backend.context - self.backend.max_new_tokens
        if n > room:
            how = (
                "/reset to clear the history, or shorten it"
                if len(self.messages) > 1
                else ("shorten it or lower --max-new-tokens")
            )
            raise TooLong(
                f"input refused: {n} tokens with the conversation, over the {room} that fit "
                f"(context {self.backend.context} less {self.backend.max_new_tokens} for the "
                f"reply); {how}"
            )
        return messages

    def stream(self, messages: Messages, stop: threading.Event) -> Iterator[str]:
        """The reply to ``messages`` (from :meth:`check`), chunk by chunk."""
        return self.backend.stream(messages, stop)

    def commit(self, messages: Messages, reply: Reply) -> None:
        """Keep the user turn and the reply (an interrupted one too: it was said)."""
        self.messages = [*messages, {"role": "assistant", "content": reply.text}]

    def add_case(self, item: Item, reply: str, gold: str | None) -> dict[str, Any]:
        record = {
            "message_index": len(self.messages) - 1,
            "item": {"question": item.question, "options": item.options},
            "gold": gold,
            "scores": case_scores(reply, item, gold, self.template),
        }
        self.cases.append(record)
        return record

    def transcript(self, **info: Any) -> dict[str, Any]:
        return {
            **info,
            "template": self.template,
            "disclaimer": DISCLAIMER,
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "messages": self.messages,
            "cases": self.cases,
        }


def banner(model: str, adapter: str | None) -> str:
    """The one-line banner: what is loaded, that it is for research, and the commands."""
    what = model + (f" + {adapter}" if adapter else "")
    return f"clinr1 chat · {what} · {DISCLAIMER} · {COMMANDS}"
