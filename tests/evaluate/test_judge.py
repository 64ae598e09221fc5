"""The chat client and the judge against a real HTTP server on 127.0.0.1 (a real socket)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clinr1.evaluate.judge import JUDGE_KEYS, JudgeSettings, judge_many, parse_count, parse_score
from clinr1.http import ChatError, chat, endpoint
from clinr1.items import Item


class FakeJudge:
    """An OpenAI-compatible server; ``script`` lists what the next requests get, then "ok"."""

    def __init__(self) -> None:
        self.script: list[str] = []
        self.requests: list[dict] = []
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep pytest output clean
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake.lock:
                    fake.requests.append(body)
                    fake.headers.append(dict(self.headers))
                    action = fake.script.pop(0) if fake.script else "ok"
                if action == "slow":
                    time.sleep(0.5)
                    action = "ok"
                if action in ("500", "429"):
                    self.send_response(int(action))
                    if action == "429":
                        self.send_header("Retry-After", "0")
                    self.end_headers()
                    self.wfile.write(b"busy")
                    return
                if action == "400":
                    self.send_response(400)
                    self.end_headers()
                    return
                if action == "garbage":
                    payload = b"<html>upstream hiccup"
                else:
                    prompt = body["messages"][-1]["content"]
                    text = {
                        "ok": "Grounded.\n<score>7</score>"
                        if "<score>" in prompt
                        else "<count>2</count>",
                        "untagged": "I would say two.",
                    }[action]
                    payload = json.dumps(
                        {
                            "id": "x",
                            "object": "chat.completion",
                            "choices": [
                                {"index": 0, "message": {"role": "assistant", "content": text}}
                            ],
                            "usage": {"prompt_tokens": 5, "completion_tokens": 3},
                        }
                    ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server() -> Iterator[FakeJudge]:
    fake = FakeJudge()
    yield fake
    fake.close()


MSG = [{"role": "user", "content": "Count: <count>N</count>"}]


def test_chat_returns_texts_usage_and_sends_the_key(server, monkeypatch) -> None:
    monkeypatch.setenv("JUDGE_KEY", "sk-test-secret")
    result = chat(server.url, "judge", MSG, api_key_env="JUDGE_KEY", retries=0)
    assert result.texts == ["<count>2</count>"]
    assert result.usage == {"prompt_tokens": 5, "completion_tokens": 3}
    assert server.headers[0]["Authorization"] == "Bearer sk-test-secret"
    assert server.requests[0]["model"] == "judge" and server.requests[0]["temperature"] == 0.0


def test_chat_retries_garbage_500_and_429(server) -> None:
    server.script = ["garbage", "500", "429"]
    result = chat(server.url, "judge", MSG, retries=3, backoff=0.01)
    assert result.texts == ["<count>2</count>"] and result.attempts == 4
    assert len(server.requests) == 4


def test_chat_gives_up_with_one_line_and_no_key(server, monkeypatch) -> None:
    monkeypatch.setenv("JUDGE_KEY", "sk-test-secret")
    server.script = ["500"] * 3
    with pytest.raises(ChatError) as info:
        chat(server.url, "judge", MSG, api_key_env="JUDGE_KEY", retries=2, backoff=0.01)
    message = str(info.value)
    assert "HTTP 500" in message and "3 tries" in message and "\n" not in message
    assert "sk-test-secret" not in message
    server.script = ["400"]
    with pytest.raises(ChatError, match="HTTP 400"):  # a client error is not retried
        chat(server.url, "judge", MSG, retries=3, backoff=0.01)


def test_chat_times_out_and_cannot_connect(server) -> None:
    server.script = ["slow", "slow"]
    with pytest.raises(ChatError, match="timed out"):
        chat(server.url, "judge", MSG, timeout=0.1, retries=1, backoff=0.01)
    port = server.server.server_address[1]
    server.close()
    with pytest.raises(ChatError, match=r"cannot connect|connection"):
        chat(f"http://127.0.0.1:{port}/v1", "judge", MSG, timeout=0.5, retries=0)
    server.server = type(
        "Closed", (), {"shutdown": lambda s: None, "server_close": lambda s: None}
    )()


def test_endpoint_and_tag_parsing() -> None:
    assert endpoint("http://h/v1/") == "http://h/v1/chat/completions"
    assert parse_count("first <count>1</count> then <count> 3 </count>") == 3
    assert parse_count("three") is None
    assert parse_score("<score>10</score>") == 1.0
    assert parse_score("<score>7/10</score>") == 0.7
    assert parse_score("<score>11</score>") is None


ITEM = Item(
    id="q1",
    source="demo",
    question="A man has a cough for 3 weeks and night sweats. Diagnosis?",
    options={"A": "Asthma", "B": "Tuberculosis"},
    answer="B",
    answer_text="Tuberculosis",
)


def _settings(server: FakeJudge, **kw) -> JudgeSettings:
    return JudgeSettings(url=server.url, model="judge", backoff=0.01, timeout=2, **kw)


def test_judge_survives_garbage_once(server) -> None:
    server.script = ["garbage"]
    [result] = judge_many(_settings(server, retries=2), [(ITEM, "<dx>x</dx>")])
    assert result["errors"] == {}
    assert [result[k] for k in JUDGE_KEYS] == [2, 2, 2, 2, 0.7]
    assert len(server.requests) == len(JUDGE_KEYS) + 1  # one retry for the garbage
    prompt = server.requests[-1]["messages"][-1]["content"]
    assert "Tuberculosis" in prompt and "<dx>x</dx>" in prompt  # gold answer and reasoning


def test_judge_counts_failures_without_raising(server) -> None:
    server.script = ["500"] * 50 + ["untagged"] * 10
    results = judge_many(_settings(server, retries=1, workers=2), [(ITEM, "a"), (ITEM, "b")])
    assert len(results) == 2
    failed = sum(r[k] is None for r in results for k in JUDGE_KEYS)
    assert failed >= 1
    assert all(set(r["errors"]) == {k for k in JUDGE_KEYS if r[k] is None} for r in results)
