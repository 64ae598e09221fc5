"""``clinr1 distill`` against a real OpenAI-compatible server on 127.0.0.1 (a real socket).

The fake teacher answers each demo item from a script: good, wrong, unstructured, malformed and
``<think>``-prefixed traces, a rate limit, a server error, garbage bodies, a request that hangs.
It counts the requests it receives and the replies it serves per item, so the tests can assert
that an item answered once is never asked again, even across a kill.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from clinr1.cli.distill import distill
from clinr1.data import DataSource, demo_items, load_items
from clinr1.distill import DistillSettings, distill_item, log_path
from clinr1.http import ChatResult
from clinr1.items import Item
from clinr1.traces import compact_trace

REPO = Path(__file__).resolve().parents[1]
KEY_ENV = "CLINR1_TEST_TEACHER_KEY"
KEY = "sk-sentinel-3f9c1e7d-must-never-be-written"
ITEMS = demo_items()[:8]
runner = CliRunner()


def good(item: Item) -> str:
    return compact_trace(item)  # correct, grounded, each distractor ruled out with a reason


def wrong(item: Item) -> str:
    other = next(letter for letter in item.options if letter != item.answer)
    return good(item).replace(f"\\boxed{{{item.answer}}}", f"\\boxed{{{other}}}")


def thin(item: Item) -> str:  # correct and grounded, but no distractor ruled out
    return "\n".join(line for line in good(item).splitlines() if "ruled out" not in line)


TRACES = {
    "good": good,
    "wrong": wrong,
    "thin": thin,
    "unstructured": lambda item: f"The answer is \\boxed{{{item.answer}}}.",
    "malformed": lambda item: good(item)[: len(good(item)) // 2],  # cut off: no box
    "think": lambda item: "<think>Let me weigh the options.</think>\n" + good(item),
}


class FakeTeacher:
    """An OpenAI-compatible teacher; ``script[item_id]`` lists what its next requests get."""

    def __init__(self) -> None:
        self.script: dict[str, list[str]] = {}
        self.asked: Counter[str] = Counter()  # requests received, per item id
        self.served: Counter[str] = Counter()  # chat completions returned, per item id
        self.auth: set[str] = set()
        self.lock = threading.Lock()
        self.hanging = threading.Event()
        self.release = threading.Event()
        by_question = {item.question.strip(): item for item in demo_items()}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                user = body["messages"][-1]["content"]
                question = user.split("Question:\n", 1)[1].split("\n\nOptions:", 1)[0]
                item = by_question[question.strip()]
                with fake.lock:
                    fake.asked[item.id] += 1
                    fake.auth.add(self.headers.get("Authorization", ""))
                    queue = fake.script.get(item.id) or []
                    action = queue.pop(0) if queue else "good"
                if action == "hang":  # never answered: the client is killed meanwhile
                    fake.hanging.set()
                    fake.release.wait(30)
                    return
                if action in ("429", "500", "401"):
                    self.send_response(int(action))
                    self.send_header("Retry-After", "0")
                    self.end_headers()
                    self.wfile.write(b"slow down")
                    return
                if action == "garbage":
                    payload = b"<html>502 upstream hiccup"
                else:
                    choices = [
                        {"index": i, "message": {"role": "assistant", "content": text}}
                        for i, text in enumerate([TRACES[action](item)] * body.get("n", 1))
                    ]
                    usage = {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}
                    payload = json.dumps({"choices": choices, "usage": usage}).encode()
                    with fake.lock:
                        fake.served[item.id] += len(choices)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        ThreadingHTTPServer.daemon_threads = True
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def teacher(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTeacher]:
    monkeypatch.setenv(KEY_ENV, KEY)
    fake = FakeTeacher()
    yield fake
    fake.close()


def command() -> tuple[typer.Typer, list[str]]:
    """The real app's ``distill`` once registered, else a one-command app around it."""
    from clinr1.cli import app

    if any((c.name or c.callback.__name__) == "distill" for c in app.registered_commands):
        return app, ["distill"]
    local = typer.Typer(add_completion=False)
    local.command()(distill)
    return local, []


def args(teacher: FakeTeacher, out: Path, *extra: str) -> list[str]:
    return [
        "--teacher-url", teacher.url, "--teacher-model", "fake-r1",
        "--data", "demo", "--limit", "8", "--out", str(out),
        "--samples", "2", "--min-faithfulness", "0.5", "--min-comprehensiveness", "0.3",
        "--api-key-env", KEY_ENV, "--retries", "2", "--backoff", "0.01", "--workers", "3",
        *extra,
    ]  # fmt: skip


def invoke(teacher: FakeTeacher, out: Path, *extra: str):
    app, prefix = command()
    result = runner.invoke(app, [*prefix, *args(teacher, out, *extra), "--json"])
    assert result.exit_code == 0, result.output
    return result, json.loads(result.stdout)


def read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def assert_no_key(folder: Path, *texts: str) -> None:
    for text in texts:
        assert KEY not in text
    for file in folder.rglob("*"):
        if file.is_file():
            assert KEY.encode() not in file.read_bytes(), file


def test_keeps_exactly_the_verified_traces_and_reruns_only_failures(
    teacher: FakeTeacher, tmp_path: Path
) -> None:
    ids = [item.id for item in ITEMS]
    teacher.script = {
        ids[0]: ["good"],  # kept at once (keep first): one request
        ids[1]: ["wrong", "good"],  # the second sample is kept
        ids[2]: ["unstructured", "unstructured"],  # correct box, no structure: faithfulness 0
        ids[3]: ["malformed", "think"],  # cut off (no answer), then kept with <think> removed
        ids[4]: ["429", "good"],  # rate-limited once, retried
        ids[5]: ["500", "thin", "thin"],  # fails once, retried; no rule-outs: comprehensiveness
        ids[6]: ["garbage"] * 3,  # 3 tries (--retries 2) all garbage: the item fails
        ids[7]: ["wrong", "wrong"],
    }
    out = tmp_path / "run" / "traces.jsonl"
    result, summary = invoke(teacher, out)

    kept = read_jsonl(out)
    assert sorted(r["id"] for r in kept) == [ids[0], ids[1], ids[3], ids[4]]
    by_id = {item.id: item for item in ITEMS}
    for record in kept:
        assert record["completion"] == good(by_id[record["id"]])  # <think> stripped for ids[3]
        assert record["teacher"] == "fake-r1" and record["template"] == "crpo"
        assert record["scores"]["accuracy"] == 1.0 and record["scores"]["faithfulness"] >= 0.5
    assert [r["sample"] for r in sorted(kept, key=lambda r: r["id"])] == [0, 1, 1, 0]
    assert summary["items"] == 8 and summary["tried"] == 8 and summary["done_before"] == 0
    assert (summary["kept_items"], summary["rejected_items"], summary["failed_items"]) == (4, 3, 1)
    assert summary["traces_asked"] == 13 and summary["traces_received"] == 12
    assert summary["traces_kept"] == 4
    assert summary["rejected"] == {
        "unanswered": 1, "wrong": 3, "faithfulness": 2, "comprehensiveness": 2,
    }  # fmt: skip
    assert summary["requests"] == 13 and summary["retries"] == 4
    assert summary["tokens"] == {"prompt_tokens": 1200, "completion_tokens": 600,
                                 "total_tokens": 1800}  # fmt: skip
    assert "traces: 13 asked, 12 received, 4 kept, 8 rejected" in result.stderr
    statuses = {r["id"]: r["status"] for r in read_jsonl(log_path(out))}
    assert statuses == {
        ids[0]: "kept", ids[1]: "kept", ids[2]: "rejected", ids[3]: "kept",
        ids[4]: "kept", ids[5]: "rejected", ids[6]: "failed", ids[7]: "rejected",
    }  # fmt: skip
    assert teacher.auth == {f"Bearer {KEY}"}  # the key was sent ...
    assert_no_key(tmp_path, result.output, result.stderr)  # ... and never written or printed

    before = teacher.asked.copy()
    result, summary = invoke(teacher, out)  # the same command again
    asked_again = teacher.asked - before
    assert asked_again == Counter({ids[6]: 1})  # only the failed item, now answered
    assert summary["done_before"] == 7 and summary["tried"] == 1 and summary["kept_items"] == 1
    assert sorted(r["id"] for r in read_jsonl(out)) == sorted([*kept_ids(kept), ids[6]])
    assert summary["out_traces"] == 5 and summary["out_items"] == 5
    assert_no_key(tmp_path, result.output, result.stderr)


def kept_ids(records: list[dict]) -> list[str]:
    return [r["id"] for r in records]


def test_killed_mid_way_then_rerun_never_asks_an_answered_item_again(
    teacher: FakeTeacher, tmp_path: Path
) -> None:
    ids = [item.id for item in ITEMS[:6]]
    teacher.script = {ids[3]: ["hang"]}  # the 4th item's request hangs; the run is killed then
    out = tmp_path / "run" / "traces.jsonl"
    code = (
        "import sys, typer\n"
        "from clinr1.cli import app\n"
        "if any((c.name or c.callback.__name__) == 'distill' for c in app.registered_commands):\n"
        "    app(['distill', *sys.argv[1:]])\n"
        "from clinr1.cli.distill import distill\n"
        "one = typer.Typer(); one.command()(distill); one()\n"
    )
    cmd = args(teacher, out, "--workers", "1", "--samples", "1")
    cmd[cmd.index("--limit") + 1] = "6"
    env = {**os.environ, KEY_ENV: KEY, "OMP_NUM_THREADS": "1"}
    stdout, stderr = tmp_path / "run" / "stdout.txt", tmp_path / "run" / "stderr.txt"
    stdout.parent.mkdir(parents=True)
    with stdout.open("wb") as so, stderr.open("wb") as se:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, *cmd], cwd=REPO, env=env, stdout=so, stderr=se
        )
        try:
            assert teacher.hanging.wait(60), stderr.read_text()
            deadline = time.time() + 10  # the 3rd item's lines are written as the 4th is asked
            while len(read_jsonl(log_path(out))) < 3 and time.time() < deadline:
                time.sleep(0.02)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert [r["id"] for r in read_jsonl(log_path(out))] == ids[:3]  # sequential: 1 worker
    with out.open("a") as f:
        f.write('{"id": "torn by the kill", "que')  # a line cut mid-write
    before = teacher.asked.copy()

    result, summary = invoke(teacher, out, "--limit", "6", "--samples", "1")
    assert teacher.asked - before == Counter({i: 1 for i in ids[3:]})
    assert teacher.served == Counter(dict.fromkeys(ids, 1))  # each item answered exactly once
    assert summary["done_before"] == 3 and summary["kept_items"] == 3
    assert sorted(kept_ids(read_jsonl(out))) == sorted(ids)  # the torn line is gone
    assert_no_key(tmp_path, result.output, result.stderr)


def test_a_refusing_teacher_stops_the_run_without_failing_items(
    teacher: FakeTeacher, tmp_path: Path
) -> None:
    teacher.script = {item.id: ["401"] for item in ITEMS}
    out = tmp_path / "traces.jsonl"
    app, prefix = command()
    result = runner.invoke(app, [*prefix, *args(teacher, out, "--limit", "4")])
    assert result.exit_code == 1
    assert "stopped: the teacher refused" in result.stderr and "HTTP 401" in result.stderr
    assert not read_jsonl(log_path(out))  # nothing marked done
    assert KEY not in result.output


# --- keep modes and n per request, with an in-process teacher -------------------------------


class Script:
    """A stand-in for ``clinr1.http.chat``: replies from a list, records each request's n."""

    def __init__(self, *replies: str, honour_n: bool = True) -> None:
        self.replies = list(replies)
        self.ns: list[int] = []
        self.honour_n = honour_n

    def __call__(self, url, model, messages, *, n=1, **_) -> ChatResult:
        self.ns.append(n)
        count = n if self.honour_n else 1
        texts = [TRACES[self.replies.pop(0)](ITEMS[0]) for _ in range(count)]
        return ChatResult(texts=texts, usage={"completion_tokens": 10 * count})


SETTINGS = dict(url="http://unused/v1", model="t", samples=3, min_faithfulness=0.0,
                min_comprehensiveness=0.0)  # fmt: skip


@pytest.mark.parametrize(
    ("keep", "requests", "kept"),
    [
        # "unstructured" passes with zero thresholds (total 10); "good" totals 11.24
        ("first", 2, ["unstructured"]),  # stops at the first that passes
        ("best", 3, ["good"]),  # asks all K, keeps the highest total
        ("all", 3, ["unstructured", "good"]),
    ],
)
def test_keep_modes(keep: str, requests: int, kept: list[str]) -> None:
    script = Script("wrong", "unstructured", "good")
    result = distill_item(ITEMS[0], DistillSettings(**SETTINGS, keep=keep), chat_fn=script)
    assert len(script.ns) == requests
    assert [r["completion"] for r in result.records] == [TRACES[k](ITEMS[0]) for k in kept]
    assert result.rejected == Counter({"wrong": 1}) and result.status == "kept"


def test_n_per_request_asks_for_what_is_missing() -> None:
    script = Script(*["good"] * 3)
    settings = DistillSettings(**SETTINGS, keep="all", n_per_request=2)
    result = distill_item(ITEMS[0], settings, chat_fn=script)
    assert script.ns == [2, 1] and result.received == 3 and len(result.records) == 3
    assert result.usage == Counter({"completion_tokens": 30})
    ignoring = Script(*["good"] * 3, honour_n=False)  # a server that ignores n (Ollama)
    result = distill_item(ITEMS[0], settings, chat_fn=ignoring)
    assert ignoring.ns == [2, 2, 1] and result.received == 3 and result.asked == 5


def test_the_two_halves_of_a_split_never_share_a_question() -> None:
    first = load_items(DataSource(name="demo", split="train[:50%]")).items
    second = load_items(DataSource(name="demo", split="train[50%:]")).items
    assert first and second
    assert not {i.id for i in first} & {i.id for i in second}
    assert len(first) + len(second) == len(demo_items())
    from clinr1.config import load_recipe

    crpo = load_recipe(REPO / "recipes" / "crpo.yaml", check_trl=False)
    assert crpo.data.train.split == "train[50%:]"


@pytest.mark.slow
def test_the_distilled_file_trains_with_sft(teacher: FakeTeacher, tmp_path: Path) -> None:
    from clinr1.cli import app

    out = tmp_path / "traces.jsonl"
    invoke(teacher, out, "--limit", "6", "--samples", "1")
    assert len(read_jsonl(out)) == 6
    result = runner.invoke(
        app,
        ["sft", str(REPO / "recipes" / "smoke.yaml"),
         "--set", f"train.output_dir={tmp_path / 'sft'}",
         "--set", f"data.train={{name: jsonl, path: {out}}}",
         "--set", "sft.max_steps=2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    run = json.loads((tmp_path / "sft" / "run.json").read_text())
    assert run["kind"] == "sft" and run["global_step"] == 2
    assert (tmp_path / "sft" / "adapter_model.safetensors").is_file()


def test_doctests() -> None:
    import doctest

    import clinr1.distill

    assert doctest.testmod(clinr1.distill).failed == 0


def test_a_dead_teacher_stops_the_run_and_ctrl_c_keeps_what_was_paid(tmp_path: Path) -> None:
    from clinr1.distill import run_distill
    from clinr1.http import ChatError

    asked: Counter[str] = Counter()

    def down(url, model, messages, **_) -> ChatResult:
        raise ChatError("cannot connect (gave up after 6 tries)", attempts=6)

    settings = DistillSettings(**SETTINGS, workers=1, stop_after_failures=2)
    summary = run_distill(ITEMS[:5], tmp_path / "a.jsonl", settings, chat_fn=down)
    assert summary.stopped and "2 items in a row failed" in summary.stopped
    assert summary.failed_items == summary.tried and summary.tried + summary.not_reached == 5

    def answers(url, model, messages, **_) -> ChatResult:
        item = next(i for i in ITEMS if i.question in messages[-1]["content"])
        asked[item.id] += 1
        return ChatResult(texts=[good(item)])

    interrupts = [KeyboardInterrupt()]

    def ctrl_c(_result) -> None:  # Ctrl-C as the first item is written
        if interrupts:
            raise interrupts.pop()

    out = tmp_path / "b.jsonl"
    settings = DistillSettings(**SETTINGS, workers=2)
    first = run_distill(ITEMS[:6], out, settings, chat_fn=answers, on_result=ctrl_c)
    assert first.interrupted and first.tried >= 1 and first.tried + first.not_reached == 6
    again = run_distill(ITEMS[:6], out, settings, chat_fn=answers)
    assert again.done_before == first.tried and not again.interrupted
    assert asked == Counter({item.id: 1 for item in ITEMS[:6]})  # nothing asked twice
