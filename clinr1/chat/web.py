"""``clinr1 chat --web``: the chat as a Gradio page on this machine (``pip install clinr1[demo]``).

The same conversation as the terminal (:mod:`clinr1.chat.conversation`): the reply streams into
the page cut into its ``<dx>`` and ``<conclusion>`` sections with the boxed answer highlighted,
and a pasted multiple-choice case is scored by the CRPO rewards in a panel beside it (accuracy
once the gold letter is typed). Gradio is imported only here, inside the functions, so the rest
of clinr1 runs without it; analytics are off and the page listens on 127.0.0.1 unless told
otherwise.
"""

from __future__ import annotations

import html
import importlib.util
import os
import threading
import time
from typing import Any

from clinr1.cards import DISCLAIMER
from clinr1.chat.conversation import (
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
)
from clinr1.prompts import format_question

CSS = """
#transcript { min-height: 320px; }
#transcript .c1-turn { margin: 0.5em 0; padding: 0.6em 0.8em; border-radius: 8px;
  white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.45; }
#transcript .c1-user { background: #f3f4f6; color: #111827; }
#transcript .c1-assistant { border: 1px solid #d1d5db; }
#transcript .c1-role { font-size: 0.8em; font-weight: 700; color: #6b7280; display: block; }
#transcript .c1-section { margin: 0.3em 0; padding: 0.3em 0.6em; border-left: 4px solid; }
#transcript .c1-dx, #transcript .c1-think { border-color: #0891b2; background: #ecfeff;
  color: #155e75; }
#transcript .c1-conclusion, #transcript .c1-answer-section { border-color: #16a34a;
  background: #f0fdf4; color: #14532d; }
#transcript .c1-tag { font-weight: 700; }
#transcript .c1-box, #transcript .c1-answer mark { background: #facc15; color: #000;
  font-weight: 700; padding: 0 0.25em; border-radius: 3px; }
#transcript .c1-answer { font-weight: 700; margin-top: 0.4em; }
#transcript .c1-stopped { color: #b91c1c; font-weight: 700; }
#scores table { width: 100%; border-collapse: collapse; }
#scores td, #scores th { padding: 0.25em 0.5em; border-bottom: 1px solid #e5e7eb; }
#scores td.num { text-align: right; font-variant-numeric: tabular-nums; }
#scores .c1-note { color: #6b7280; }
#scores .c1-error { color: #b91c1c; }
"""
SECTION_CLASS = {"dx": "c1-dx", "think": "c1-think", "conclusion": "c1-conclusion",
                 "answer": "c1-answer-section"}  # fmt: skip


class WebChatError(Exception):
    """The web page cannot start; one line saying what to install or change."""


def require_gradio() -> None:
    if importlib.util.find_spec("gradio") is None:
        raise WebChatError("gradio is not installed: pip install 'clinr1[demo]'")


# --- HTML -----------------------------------------------------------------------------------


def reply_html(text: str, template: str = "crpo") -> str:
    """A reply as HTML: one block per section, tags in bold, boxes highlighted."""
    blocks: list[tuple[str | None, list[str]]] = []
    for piece in pieces(text, template):
        escaped = html.escape(piece.text)
        if piece.kind == "tag":
            escaped = f'<span class="c1-tag">{escaped}</span>'
        elif piece.kind == "box":
            escaped = f'<mark class="c1-box">{escaped}</mark>'
        if blocks and blocks[-1][0] == piece.section:
            blocks[-1][1].append(escaped)
        else:
            blocks.append((piece.section, [escaped]))
    out = []
    for section, parts in blocks:
        body = "".join(parts)
        if section is None:
            if body.strip():
                out.append(f"<span>{body.strip(chr(10))}</span>")
        else:
            cls = SECTION_CLASS.get(section, "c1-dx")
            out.append(f'<div class="c1-section {cls}">{body.strip(chr(10))}</div>')
    return "".join(out)


def transcript_html(
    messages: list[dict[str, str]],
    template: str = "crpo",
    *,
    partial: str | None = None,
    stopped: list[int] | None = None,
) -> str:
    """The conversation (system prompt left out), with ``partial`` as a reply still streaming."""
    turns = []
    shown = [m for m in messages if m["role"] != "system"]
    if partial is not None:
        shown.append({"role": "assistant", "content": partial, "streaming": "1"})
    stopped_at = set(stopped or [])
    for i, m in enumerate(shown):
        if m["role"] == "user":
            body = html.escape(m["content"])
            turns.append(
                f'<div class="c1-turn c1-user"><span class="c1-role">you</span>{body}</div>'
            )
            continue
        body = reply_html(m["content"], template)
        tail = ""
        letter = boxed_letter(m["content"], template)
        if letter and "streaming" not in m:
            tail += f'<div class="c1-answer">answer <mark>{html.escape(letter)}</mark></div>'
        if i in stopped_at:
            tail += '<div class="c1-stopped">[stopped]</div>'
        cls = "c1-turn c1-assistant" + (" c1-streaming" if "streaming" in m else "")
        turns.append(f'<div class="{cls}"><span class="c1-role">clinr1</span>{body}{tail}</div>')
    if not turns:
        return (
            '<div class="c1-note">Paste a multiple-choice case (question, then one option a '
            "line: A. ..., B. ...) and press Send.</div>"
        )
    return "".join(turns)


def scores_html(scores: dict[str, Any] | None, note: str = "", error: bool = False) -> str:
    """The score panel: each CRPO objective of the last case's reply, or a note."""
    if scores is None:
        cls = "c1-error" if error else "c1-note"
        return f'<div class="{cls}">{html.escape(note)}</div>'
    rows = []
    for name, value, weight in score_rows(scores):
        shown = "type the gold letter" if value is None else f"{value:.3f}"
        rows.append(
            f'<tr data-objective="{name}"><td>{name}</td><td class="num">{shown}</td>'
            f'<td class="num">{weight:g}</td></tr>'
        )
    if scores.get("total") is not None:
        rows.append(
            f'<tr data-objective="total"><td><b>total</b></td>'
            f'<td class="num"><b>{scores["total"]:.3f}</b></td><td></td></tr>'
        )
    read = html.escape(str(scores.get("extracted") or "-"))
    gold = scores.get("gold")
    return (
        '<table id="score-table"><tr><th>objective</th><th>score</th><th>weight</th></tr>'
        + "".join(rows)
        + f'</table><div class="c1-note">answer read: {read}'
        + (f" · gold: {html.escape(gold)}" if gold else "")
        + (f" · {html.escape(note)}" if note else "")
        + "</div>"
    )


# --- the app --------------------------------------------------------------------------------


class _Generation:
    """The reply being generated (one at a time: the model is shared) and its stop flag."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.stopped_by_user = False

    def request_stop(self) -> None:
        self.stopped_by_user = True
        self.stop.set()


def _empty_state() -> dict[str, Any]:
    return {"messages": None, "cases": [], "last_case": None, "stopped": []}


def build(backend: Backend, *, template: str = "crpo", info: dict[str, Any] | None = None):
    """The Gradio Blocks app over ``backend``."""
    require_gradio()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    info = info or {}
    current = {"generation": _Generation()}
    lock = threading.Lock()

    def conversation(state: dict[str, Any]) -> Conversation:
        conv = Conversation(backend, template)
        if state.get("messages"):
            conv.messages = list(state["messages"])
        conv.cases = list(state.get("cases") or [])
        return conv

    def respond(message: str, gold: str, state: dict[str, Any]):
        state = dict(state or _empty_state())
        conv = conversation(state)
        stopped = list(state.get("stopped") or [])
        text = (message or "").strip()
        if not text:
            yield (
                transcript_html(conv.messages, template, stopped=stopped),
                scores_html(None, "type a message or paste a case first"),
                state,
                message,
            )
            return
        try:
            item = parse_case(text)
            content = format_question(item)
        except CaseError:
            item, content = None, text
        try:
            messages = conv.check(content)
        except TooLong as e:
            yield (
                transcript_html(conv.messages, template, stopped=stopped),
                scores_html(None, str(e), error=True),
                state,
                message,
            )
            return
        with lock:
            generation = current["generation"] = _Generation()
            started = time.monotonic()
            reply = ""
            waiting = scores_html(None, "generating…")
            for chunk in conv.stream(messages, generation.stop):
                reply += chunk
                partial = transcript_html(messages, template, partial=reply, stopped=stopped)
                yield partial, waiting, state, ""
            interrupted = generation.stopped_by_user
        conv.commit(messages, Reply(reply, interrupted, time.monotonic() - started))
        if interrupted:
            stopped.append(len(conv.messages) - 2)  # index among the shown (non-system) turns
        if item is not None:
            record = conv.add_case(item, reply, _gold(gold, item.options))
            panel = scores_html(record["scores"])
            state["last_case"] = {"item": item.to_dict(), "reply": reply}
        else:
            panel = scores_html(None, "a follow-up, not a case: paste options A., B. ... to score")
        state.update(messages=conv.messages, cases=conv.cases, stopped=stopped)
        yield transcript_html(conv.messages, template, stopped=stopped), panel, state, ""

    def rescore(gold: str, state: dict[str, Any]):
        from clinr1.items import Item

        last = (state or {}).get("last_case")
        if not last:
            return gr.skip(), state
        item = Item.from_dict(last["item"])
        letter = _gold(gold, item.options)
        scores = case_scores(last["reply"], item, letter, template)
        state = dict(state)
        cases = list(state.get("cases") or [])
        if cases:
            cases[-1] = {**cases[-1], "gold": letter, "scores": scores}
        state["cases"] = cases
        note = "" if letter or not gold.strip() else f"{gold.strip()!r} is not an option letter"
        return scores_html(scores, note), state

    def stop() -> None:
        current["generation"].request_stop()

    def reset():
        return (
            transcript_html([], template),
            scores_html(None, "conversation cleared"),
            (_empty_state()),
        )

    model = info.get("model", "model") + (f" + {info['adapter']}" if info.get("adapter") else "")
    theme = gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=["ui-monospace", "monospace"],
    )
    with gr.Blocks(title="clinr1 chat", analytics_enabled=False) as app:
        gr.Markdown(f"### clinr1 chat · `{model}`\n**{DISCLAIMER}.**", elem_id="banner")
        state = gr.State(_empty_state())
        with gr.Row():
            with gr.Column(scale=3):
                transcript = gr.HTML(transcript_html([], template), elem_id="transcript")
                message = gr.Textbox(
                    label="Case or message",
                    placeholder="Question, then options one a line (A. ..., B. ...)",
                    lines=6,
                    elem_id="message",
                )
                with gr.Row():
                    send = gr.Button("Send", variant="primary", elem_id="send")
                    stop_button = gr.Button("Stop", elem_id="stop")
                    reset_button = gr.Button("Reset", elem_id="reset")
            with gr.Column(scale=2):
                gold = gr.Textbox(label="Gold letter (for accuracy)", max_lines=1, elem_id="gold")
                gr.Markdown("#### CRPO scores of the last case")
                scores = gr.HTML(scores_html(None, "no case scored yet"), elem_id="scores")
        send.click(respond, [message, gold, state], [transcript, scores, state, message])
        gold.submit(rescore, [gold, state], [scores, state])
        gold.blur(rescore, [gold, state], [scores, state])
        stop_button.click(stop, None, None, queue=False)
        reset_button.click(reset, None, [transcript, scores, state])
    app.clinr1_launch_kwargs = {"css": CSS, "theme": theme}
    return app


def _gold(text: str | None, options: dict[str, str]) -> str | None:
    letter = (text or "").strip().upper()
    return letter if letter in options else None


def launch(
    backend: Backend,
    *,
    template: str = "crpo",
    host: str = "127.0.0.1",
    port: int = 7860,
    info: dict[str, Any] | None = None,
    block: bool = True,
):
    """Serve the page on ``host:port``; with ``block=False`` return the running app (tests)."""
    app = build(backend, template=template, info=info)
    app.queue(default_concurrency_limit=1)
    app.launch(
        server_name=host,
        server_port=port,
        share=False,
        inbrowser=False,
        prevent_thread_lock=not block,
        ssr_mode=False,
        mcp_server=False,
        quiet=not block,
        show_error=True,
        footer_links=[],
        **app.clinr1_launch_kwargs,
    )
    return app
