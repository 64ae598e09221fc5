"""``clinr1 chat``: talk to a model in the terminal, one streamed reply at a time.

The reply streams as it is generated, cut along the template's sections (``crpo``: ``<dx>`` in
cyan, ``<conclusion>`` in green) with the ``\\boxed{X}`` answer highlighted. The conversation is
multi-turn. Commands:

* ``/case`` -- paste a multiple-choice case with its options (``A. ...`` one a line; an empty
  line after the options ends it). After the answer the reasoning's per-objective CRPO scores
  are shown, and the accuracy score once the gold letter is given.
* ``/reset`` (forget the conversation), ``/save FILE`` (the transcript as JSON), ``/exit``.

Ctrl-C stops the reply being generated, not the session. An input that does not fit the
context with room for the reply is refused with one line.

The pieces are small so that tests drive them without a terminal or a model:
:class:`Conversation` (messages, context check, case scoring), a backend (:class:`HFBackend`
streams from a transformers model; any object with ``context``, ``max_new_tokens``,
``count_tokens`` and ``stream`` will do), :class:`ReplyPrinter` (rich styles as text arrives)
and :class:`TerminalChat` (the loop, with an injected ``input_fn`` and console). The web page
(:mod:`clinr1.webchat`) reuses all but the last two.
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from clinr1.items import LETTERS, Item
from clinr1.prompts import format_question, system_prompt
from clinr1.rewards.parse import BOX_RE, box_letter, parse, tag_pattern

DISCLAIMER = "research model: not for clinical use, diagnosis or treatment decisions"
COMMANDS = "/case  /reset  /save FILE  /exit"
Messages = list[dict[str, str]]

# One option line of a pasted case: "A. text", "A) text", "(A) text", "A: text".
_OPTION_LINE_RE = re.compile(r"^\s*[(\[]?([A-J])\s*[.):\]]\s*(\S.*)$")
_HEADER_RE = re.compile(r"^\s*(question|options|answer choices|choices)\s*:\s*$", re.IGNORECASE)


class Backend(Protocol):
    """What the chat needs from a model."""

    context: int  # tokens the model attends to: prompt + reply
    max_new_tokens: int

    def count_tokens(self, messages: Messages) -> int: ...

    def stream(self, messages: Messages, stop: threading.Event) -> Iterator[str]: ...


# --- the model -----------------------------------------------------------------------------


class HFBackend:
    """Stream a reply from a transformers (or Unsloth, or PEFT) model.

    ``generate`` runs in a thread and feeds a ``TextIteratorStreamer``; a stopping criterion
    watches ``stop`` so that an interrupt ends the generation within one token. Sampling is
    pinned as in evaluation (greedy when ``temperature == 0``).
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        max_new_tokens: int = 1024,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int = 0,
        context: int | None = None,
    ):
        from clinr1.evaluate.generate import HFGenerator, Sampling

        self.model = model
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens
        self.seed = seed
        self.temperature = temperature
        self._generator = HFGenerator(
            model, tokenizer, Sampling(temperature, top_p, max_new_tokens, seed), batch_size=1
        )
        limit = getattr(getattr(model, "config", None), "max_position_embeddings", None) or 4096
        self.context = min(context, limit) if context else limit

    def _encode(self, messages: Messages) -> dict[str, Any]:
        tok = self.tokenizer
        text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return tok(text, return_tensors="pt", add_special_tokens=False)

    def count_tokens(self, messages: Messages) -> int:
        return int(self._encode(messages)["input_ids"].shape[1])

    def stream(self, messages: Messages, stop: threading.Event) -> Iterator[str]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                return torch.full(
                    (input_ids.shape[0],), stop.is_set(), dtype=torch.bool, device=input_ids.device
                )

        device = getattr(self.model, "device", None) or next(self.model.parameters()).device
        enc = {k: v.to(device) for k, v in self._encode(messages).items()}
        kwargs = self._generator._kwargs(1)
        kwargs.pop("num_return_sequences", None)

        class _TokenStreamer(TextIteratorStreamer):
            """Hands on each token's text as it comes (transformers' streamers wait for a
            space); only half a multi-byte character is held back."""

            def put(self, value):
                if len(value.shape) > 1:
                    value = value[0]
                if self.skip_prompt and self.next_tokens_are_prompt:
                    self.next_tokens_are_prompt = False
                    return
                self.token_cache.extend(value.tolist())
                text = self.tokenizer.decode(self.token_cache, **self.decode_kwargs)
                if text.endswith("\ufffd"):
                    return
                printable = text[self.print_len :]
                if text.endswith("\n"):  # start afresh, so decoding stays short
                    self.token_cache, self.print_len = [], 0
                else:
                    self.print_len = len(text)
                if printable:
                    self.on_finalized_text(printable)

        streamer = _TokenStreamer(
            self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=0.1
        )
        errors: list[BaseException] = []

        def work() -> None:
            try:
                if self.temperature > 0:
                    torch.manual_seed(self.seed)
                with torch.inference_mode():
                    self.model.generate(
                        **enc,
                        **kwargs,
                        streamer=streamer,
                        stopping_criteria=StoppingCriteriaList([_Stop()]),
                    )
            except BaseException as e:  # reported in the caller's thread
                errors.append(e)
                streamer.end()

        thread = threading.Thread(target=work, name="clinr1-generate", daemon=True)
        thread.start()
        try:
            while True:
                try:
                    chunk = next(streamer)
                except StopIteration:
                    break
                except queue.Empty:
                    if not thread.is_alive():
                        break
                    continue
                if chunk:
                    yield chunk
        finally:
            stop.set()
            thread.join()
        if errors:
            raise errors[0]


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
        m = _OPTION_LINE_RE.match(line)
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
    """(objective, score or ``None``, weight) for the score panel, in display order."""
    from clinr1.rewards import DEFAULT_WEIGHTS

    names = ("format", "faithfulness", "comprehensiveness", "accuracy")
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
            if not line.strip() and any(_OPTION_LINE_RE.match(x) for x in lines):
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


def banner(model: str, adapter: str | None) -> str:
    """The one-line banner: what is loaded, that it is for research, and the commands."""
    what = model + (f" + {adapter}" if adapter else "")
    return f"clinr1 chat · {what} · {DISCLAIMER} · {COMMANDS}"
