"""`clinr1 chat`: the terminal loop with canned input, on a scripted backend and the tiny model."""

from __future__ import annotations

import io
import json
import re
import signal
import threading
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from clinr1.chat import (
    CaseError,
    Conversation,
    ReplyPrinter,
    TerminalChat,
    TooLong,
    banner,
    parse_case,
    pieces,
    stable_end,
)
from clinr1.cli.chat import chat
from clinr1.evaluate.generate import HFStreamer

CASE_LINES = [
    "A 45-year-old man presents with chest pain radiating to the left arm for 2 hours.",
    "Which of the following is the most likely diagnosis?",
    "A. Pneumonia",
    "B. Myocardial infarction",
    "C. Appendicitis",
    "",
]
REPLY = (
    "<dx>\n"
    'The findings: "chest pain radiating to the left arm".\n'
    "Option A: no fever or cough, so pneumonia is ruled out.\n"
    'Option B: "chest pain radiating to the left arm" is typical of ischemia, supported.\n'
    "Option C: the pain is in the chest, not the abdomen, so appendicitis is ruled out.\n"
    "</dx>\n"
    "<conclusion>\n"
    'Myocardial infarction fits "chest pain radiating to the left arm". \\boxed{B}\n'
    "</conclusion>"
)


class ScriptedBackend:
    """Streams a fixed reply a few characters at a time; counts a token per 4 characters."""

    def __init__(self, reply: str = REPLY, *, context: int = 4096, max_new_tokens: int = 256):
        self.reply = reply
        self.context = context
        self.max_new_tokens = max_new_tokens
        self.calls: list[list[dict[str, str]]] = []
        self.on_chunk = None  # called with the chunk index before each chunk

    def count_tokens(self, messages) -> int:
        return sum(len(m["content"]) for m in messages) // 4

    def stream(self, messages, stop: threading.Event):
        self.calls.append([dict(m) for m in messages])
        for i in range(0, len(self.reply), 5):
            if stop.is_set():
                return
            if self.on_chunk is not None:
                self.on_chunk(i // 5)
            yield self.reply[i : i + 5]


def canned(*lines: str):
    """An input function that returns ``lines`` in turn, then raises EOFError."""
    queue = list(lines)

    def read(prompt: str) -> str:
        if not queue:
            raise EOFError
        line = queue.pop(0)
        if isinstance(line, BaseException):
            raise line
        return line

    return read


def session(backend, *lines, width: int = 200):
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=True, color_system="standard")
    chat_ = TerminalChat(backend, console=console, input_fn=canned(*lines), info={"model": "x"})
    return chat_, out


def plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


# --- pieces of a reply --------------------------------------------------------------------


def test_pieces_follow_the_sections_and_boxes() -> None:
    got = [(p.kind, p.section) for p in pieces(REPLY)]
    assert got[0] == ("tag", "dx") and ("text", "dx") in got
    assert ("box", "conclusion") in got and got[-1] == ("tag", "conclusion")
    assert "".join(p.text for p in pieces(REPLY)) == REPLY  # nothing lost or repeated


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("<dx>Option A", "<dx>Option A"),  # nothing pending
        ("ok <conc", "ok "),  # a tag still arriving is held back
        ("ok \\box", "ok "),  # so is a \boxed command
        ("ok \\boxed{B", "ok "),  # and a box until it closes
        ("ok \\boxed{B}", "ok \\boxed{B}"),
        (
            "a < b and more than twenty-four characters later",
            "a < b and more than twenty-four characters later",
        ),  # a lone "<" is released
    ],
)
def test_stable_end_holds_back_half_tags_and_boxes(text: str, shown: str) -> None:
    assert text[: stable_end(text)] == shown


def test_printer_streams_every_character_once_with_the_box_highlighted() -> None:
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=True, color_system="standard")
    printer = ReplyPrinter(console)
    for ch in REPLY:  # one character a chunk: the hardest case for half tags
        printer.feed(ch)
    printer.finish()
    raw = out.getvalue()
    assert plain(raw).rstrip("\n") == REPLY
    assert re.search(r"\x1b\[[0-9;]*43m\\boxed\{B\}", raw)  # yellow background
    assert re.search(r"\x1b\[[0-9;]*36m<dx>", raw)  # the dx tag in cyan
    assert re.search(r"\x1b\[[0-9;]*32m<conclusion>", raw)  # the conclusion tag in green


@pytest.mark.parametrize(
    ("text", "question", "options"),
    [
        # format_question's own output round-trips
        ("Question:\nFever?\n\nOptions:\nA. Flu\nB. Cold", "Fever?", {"A": "Flu", "B": "Cold"}),
        # other option styles, and a wrapped option line
        (
            "Rash?\n(A) Measles\nB) Rubella\n   in a child\nC: Roseola",
            "Rash?",
            {"A": "Measles", "B": "Rubella in a child", "C": "Roseola"},
        ),
        # a blank line inside the question is kept
        ("Case.\n\nWhich?\nA. x\nB. y", "Case.\n\nWhich?", {"A": "x", "B": "y"}),
    ],
)
def test_parse_case(text: str, question: str, options: dict[str, str]) -> None:
    item = parse_case(text)
    assert (item.question, item.options) == (question, options)


@pytest.mark.parametrize("text", ["Just a question?", "A. x\nB. y", "Q?\nA. only one"])
def test_parse_case_refuses_what_is_not_a_case(text: str) -> None:
    with pytest.raises(CaseError):
        parse_case(text)


# --- the loop on a scripted backend -------------------------------------------------------


def test_reply_streams_while_it_is_generated() -> None:
    backend = ScriptedBackend()
    chat_, out = session(backend, "hello", "/exit")
    seen: list[int] = []
    backend.on_chunk = lambda i: seen.append(len(plain(out.getvalue())))
    chat_.run()
    assert seen[-1] > seen[5] > seen[0]  # the console grew while chunks were still coming
    assert "answer  B " in plain(out.getvalue())


def test_case_scores_then_accuracy_with_the_gold_letter(tmp_path: Path) -> None:
    backend = ScriptedBackend()
    transcript = tmp_path / "t.json"
    chat_, out = session(backend, "/case", *CASE_LINES, "b", f"/save {transcript}", "/exit")
    chat_.run()
    text = plain(out.getvalue())
    # the model saw the case in the template's form, after the system prompt
    sent = backend.calls[0]
    assert sent[0]["role"] == "system" and "<dx>" in sent[0]["content"]
    assert (
        sent[1]["content"].startswith("Question:\nA 45-year-old")
        and "B. Myocardial" in (sent[1]["content"])
    )
    assert "gold letter?" in text  # accuracy waits for the gold letter
    for name in ("format", "faithfulness", "comprehensiveness"):
        assert re.search(rf"{name}\s+\d\.\d{{3}}", text)
    assert re.search(r"accuracy\s+1\.000\s+10", text)
    assert re.search(r"total\s+1[0-2]\.\d{3}", text)
    saved = json.loads(transcript.read_text(encoding="utf-8"))
    assert [m["role"] for m in saved["messages"]] == ["system", "user", "assistant"]
    assert saved["messages"][2]["content"] == REPLY
    assert saved["cases"][0]["gold"] == "B" and saved["cases"][0]["scores"]["accuracy"] == 1.0
    assert saved["model"] == "x" and "not for clinical use" in saved["disclaimer"]


def test_history_reset_and_commands() -> None:
    backend = ScriptedBackend()
    chat_, out = session(backend, "first", "second", "/reset", "third", "/save", "/nope")
    chat_.run()  # ends at the end of input, like Ctrl-D
    assert [len(c) for c in backend.calls] == [2, 4, 2]  # multi-turn, then cleared by /reset
    text = plain(out.getvalue())
    assert "conversation cleared" in text
    assert "usage: /save FILE" in text
    assert "unknown command /nope" in text


def test_over_long_input_is_refused_in_one_line() -> None:
    backend = ScriptedBackend(context=512, max_new_tokens=256)
    chat_, out = session(backend, "fever " * 400, "short", "/exit")
    chat_.run()
    lines = [x for x in plain(out.getvalue()).splitlines() if "input refused" in x]
    assert len(lines) == 1 and "256 that fit" in lines[0]
    assert len(backend.calls) == 1 and backend.calls[0][-1]["content"] == "short"


def test_conversation_check_names_the_budget() -> None:
    conversation = Conversation(ScriptedBackend(context=300, max_new_tokens=200))
    with pytest.raises(TooLong, match="context 300 less 200"):
        conversation.check("x" * 1000)


def test_ctrl_c_at_the_prompt_keeps_the_session() -> None:
    backend = ScriptedBackend()
    chat_, out = session(backend, KeyboardInterrupt(), "hello", "/exit")
    chat_.run()
    assert "/exit or Ctrl-D" in plain(out.getvalue()) and len(backend.calls) == 1


def test_banner_is_one_line_with_the_disclaimer() -> None:
    line = banner("tiny-random-qwen2", None)
    assert "\n" not in line and "not for clinical use" in line and "/case" in line


# --- the tiny model -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(_model_cache: Path):
    from clinr1.config import ModelConfig
    from clinr1.engine import load_model

    cfg = ModelConfig(name_or_path="tiny-random-qwen2", engine="hf", load_in_4bit=False)
    return load_model(cfg, trainable=False, verbose=False)


def test_tiny_model_streams_token_by_token_what_evaluation_generates(tiny) -> None:
    from clinr1.evaluate.generate import HFGenerator, Sampling

    backend = HFStreamer(tiny.model, tiny.tokenizer, max_new_tokens=24)
    messages = Conversation(backend).check("A 45-year-old man has chest pain.")
    chunks = list(backend.stream(messages, threading.Event()))
    assert len(chunks) >= 12  # about a chunk a token, not a chunk a word
    evaluated = HFGenerator(tiny.model, tiny.tokenizer, Sampling(max_new_tokens=24))
    assert "".join(chunks) == evaluated.generate([messages], 1)[0][0].text


@pytest.fixture
def python_ctrl_c():
    """Python's own Ctrl-C handler for one test, whatever an earlier test or library set."""
    saved = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, saved)


def test_ctrl_c_stops_the_generation_not_the_session(tiny, python_ctrl_c) -> None:
    backend = HFStreamer(tiny.model, tiny.tokenizer, max_new_tokens=3000, context=4096)
    fired: list[int] = []
    stream = backend.stream

    def interrupted_stream(messages, stop):
        inner = stream(messages, stop)
        try:
            for i, chunk in enumerate(inner):
                if i == 3 and not fired:  # a real SIGINT in the middle of the first reply
                    fired.append(i)
                    signal.raise_signal(signal.SIGINT)
                yield chunk
        finally:  # the interrupt lands in this frame: close the real stream as a wrapper must
            inner.close()

    backend.stream = interrupted_stream  # type: ignore[method-assign]
    chat_, out = session(backend, "hello", "again", "/exit")
    chat_.run()
    text = plain(out.getvalue())
    assert text.count("[stopped]") == 1  # the first reply stopped; the second ran to its end
    messages = chat_.conversation.messages
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant"]
    assert len(tiny.tokenizer(messages[2]["content"])["input_ids"]) < 100  # far from 3000
    assert not any(t.name == "clinr1-generate" for t in threading.enumerate())


def test_cli_chat_on_the_tiny_model(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(chat)
    app.command("noop")(lambda: None)
    transcript = tmp_path / "chat.json"
    lines = ["hello", "/case", *CASE_LINES, "C", "fever " * 3000, "/reset", f"/save {transcript}",
             "/exit"]  # fmt: skip
    result = CliRunner().invoke(
        app,
        [
            "chat",
            "--model",
            "tiny-random-qwen2",
            "--engine",
            "hf",
            "--no-load-in-4bit",
            "--max-new-tokens",
            "24",
            "--context",
            "2048",
        ],
        input="\n".join(lines) + "\n",
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.splitlines()[0].startswith("clinr1 chat · tiny-random-qwen2")
    assert "not for clinical use" in out.splitlines()[0]
    assert "CRPO scores of this reply" in out and re.search(r"accuracy\s+\d\.000\s+10", out)
    assert sum("input refused" in line for line in out.splitlines()) == 1
    saved = json.loads(transcript.read_text(encoding="utf-8"))
    assert [m["role"] for m in saved["messages"]] == ["system"]  # /reset came before /save
    assert saved["model"] == "tiny-random-qwen2"


def test_cli_chat_refuses_a_bad_template() -> None:
    app = typer.Typer()
    app.command()(chat)
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(app, ["chat", "--template", "soap"])
    assert result.exit_code == 2 and "unknown template 'soap'" in result.stderr
