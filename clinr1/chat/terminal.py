"""``clinr1 chat`` in a terminal: the reply streams in colour, one section at a time.

The reply is cut along the template's sections (``crpo``: ``<dx>`` in cyan, ``<conclusion>`` in
green) with the ``\\boxed{X}`` answer highlighted (:class:`ReplyPrinter`). :class:`TerminalChat` is
the loop over a :class:`~clinr1.chat.conversation.Conversation`, with an injected ``input_fn``
and console so that tests drive it without a terminal. Commands:

* ``/case`` -- paste a multiple-choice case with its options (``A. ...`` one a line; an empty
  line after the options ends it). After the answer the reasoning's per-objective CRPO scores
  are shown, and the accuracy score once the gold letter is given.
* ``/reset`` (forget the conversation), ``/save FILE`` (the transcript as JSON), ``/exit``.

Ctrl-C stops the reply being generated, not the session. An input that does not fit the
context with room for the reply is refused with one line.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from clinr1.chat.conversation import (
    COMMANDS,
    OPTION_LINE_RE,
    Backend,
    CaseError,
    Conversation,
    Reply,
    TooLong,
    boxed_letter,
    case_scores,
    parse_case,
    pieces,
    score_rows,
    stable_end,
)
from clinr1.prompts import format_question

# --- the terminal --------------------------------------------------------------------------

STYLES = {"dx": "cyan", "think": "cyan", "conclusion": "green", "answer": "green"}
BOX_STYLE = "bold black on yellow"


class ReplyPrinter:
    """Print a streaming reply to a rich console, styled by section as it arrives."""

    def __init__(self, console: Any, template: str = "crpo"):
        self.console = console
        self.template = template
        self.text = ""
        self.shown = 0

    def feed(self, chunk: str) -> None:
        self.text += chunk
        self._show(stable_end(self.text))

    def finish(self) -> None:
        self._show(len(self.text))
        self.console.print()

    def _show(self, end: int) -> None:
        if end <= self.shown:
            return
        from rich.text import Text

        out = Text()
        pos = 0
        for piece in pieces(self.text[:end], self.template):
            start, pos = pos, pos + len(piece.text)
            if pos <= self.shown:
                continue
            color = STYLES.get(piece.section or "", "")
            style = {"tag": f"bold {color}".strip(), "box": BOX_STYLE}.get(piece.kind, color)
            out.append(piece.text[max(0, self.shown - start) :], style=style or None)
        self.console.print(out, end="", soft_wrap=True)
        self.shown = end


class TerminalChat:
    """The terminal loop over a :class:`Conversation`; ``input_fn`` reads one line (raising
    ``EOFError`` at the end of input and ``KeyboardInterrupt`` on Ctrl-C)."""

    def __init__(
        self,
        backend: Backend,
        *,
        template: str = "crpo",
        console: Any = None,
        input_fn: Callable[[str], str] | None = None,
        info: dict[str, Any] | None = None,
    ):
        from rich.console import Console

        self.conversation = Conversation(backend, template)
        self.template = template
        self.console = console or Console(highlight=False)
        self.input_fn = input_fn or self.console.input
        self.info = info or {}

    def say(self, message: str, style: str | None = None) -> None:
        self.console.print(message, style=style, markup=False, highlight=False)

    def run(self) -> None:
        """Read and answer until ``/exit`` or the end of input."""
        while True:
            try:
                line = self.input_fn("you> ")
            except EOFError:
                self.say("")
                return
            except KeyboardInterrupt:
                self.say("^C (/exit or Ctrl-D to leave)", "dim")
                continue
            if not self.handle(line):
                return

    def handle(self, line: str) -> bool:
        """Act on one input line; ``False`` once the session should end."""
        text = line.strip()
        if not text:
            return True
        if not text.startswith("/"):
            self.ask(line)
            return True
        command, _, arg = text.partition(" ")
        if command in ("/exit", "/quit"):
            return False
        if command == "/reset":
            self.conversation.reset()
            self.say("conversation cleared", "dim")
        elif command == "/save":
            self.save(arg.strip())
        elif command == "/case":
            self.case()
        elif command == "/help":
            self.say(f"commands: {COMMANDS}; Ctrl-C stops a reply")
        else:
            self.say(f"unknown command {command}; commands: {COMMANDS}", "red")
        return True

    def ask(self, content: str) -> Reply | None:
        """Send ``content`` as the next user turn and stream the reply; ``None`` if refused."""
        try:
            messages = self.conversation.check(content)
        except TooLong as e:
            self.say(str(e), "red")
            return None
        stop = threading.Event()
        printer = ReplyPrinter(self.console, self.template)
        started = time.monotonic()
        interrupted = False
        chunks = self.conversation.stream(messages, stop)
        try:
            for chunk in chunks:
                printer.feed(chunk)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            stop.set()
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        printer.finish()
        reply = Reply(printer.text, interrupted, time.monotonic() - started)
        self.conversation.commit(messages, reply)
        self._footer(reply)
        return reply

    def _footer(self, reply: Reply) -> None:
        from rich.text import Text

        line = Text()
        letter = boxed_letter(reply.text, self.template)
        if letter:
            line.append("answer ", style="bold")
            line.append(f" {letter} ", style=BOX_STYLE)
            line.append("  ")
        if reply.interrupted:
            line.append("[stopped] ", style="bold red")
        line.append(f"({reply.seconds:.1f} s)", style="dim")
        self.console.print(line)

    def read_case(self) -> str | None:
        """Lines up to an empty line after the options (or ``/end``); ``None`` on ``/cancel``."""
        self.say(
            "paste the case and its options (A. ..., B. ...); an empty line after the options "
            "ends it, /cancel aborts",
            "dim",
        )
        lines: list[str] = []
        while True:
            try:
                line = self.input_fn("... ")
            except EOFError:
                break
            if line.strip() == "/cancel":
                return None
            if line.strip() == "/end":
                break
            if not line.strip() and any(OPTION_LINE_RE.match(x) for x in lines):
                break
            lines.append(line)
        return "\n".join(lines)

    def case(self) -> None:
        try:
            text = self.read_case()
        except KeyboardInterrupt:
            text = None
        if text is None:
            self.say("case cancelled", "dim")
            return
        try:
            item = parse_case(text)
        except CaseError as e:
            self.say(f"not a case: {e}", "red")
            return
        reply = self.ask(format_question(item))
        if reply is None:
            return
        record = self.conversation.add_case(item, reply.text, None)
        self.show_scores(record["scores"])
        letters = "/".join(item.options)
        try:
            gold = self.input_fn(f"gold letter ({letters}) for the accuracy score, Enter skips: ")
        except (EOFError, KeyboardInterrupt):
            gold = ""
        gold = gold.strip().upper()
        if not gold:
            return
        if gold not in item.options:
            self.say(f"{gold!r} is not one of {letters}; accuracy not scored", "red")
            return
        record["gold"] = gold
        record["scores"] = case_scores(reply.text, item, gold, self.template)
        self.show_scores(record["scores"])

    def show_scores(self, scores: dict[str, Any]) -> None:
        from rich.table import Table

        table = Table(title="CRPO scores of this reply", title_justify="left", box=None)
        for col, justify in (("objective", "left"), ("score", "right"), ("weight", "right")):
            table.add_column(col, justify=justify)  # type: ignore[arg-type]
        for name, value, weight in score_rows(scores):
            shown = "gold letter?" if value is None else f"{value:.3f}"
            table.add_row(name, shown, f"{weight:g}")
        if scores.get("total") is not None:
            table.add_row("total", f"{scores['total']:.3f}", "", style="bold")
        self.console.print(table)
        extracted, gold = scores.get("extracted") or "-", scores.get("gold")
        self.say(f"answer read: {extracted}" + (f"   gold: {gold}" if gold else ""))

    def save(self, path: str) -> None:
        if not path:
            self.say("usage: /save FILE", "red")
            return
        data = self.conversation.transcript(**self.info)
        try:
            target = Path(path).expanduser()
            target.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
        except OSError as e:
            self.say(f"cannot write {path}: {e.strerror or e}", "red")
            return
        self.say(f"saved {len(data['messages']) - 1} messages to {target}", "dim")
