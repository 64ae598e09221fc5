"""Cold-start traces from a teacher model, kept only when the CRPO rewards verify them.

For each item the teacher (any OpenAI-compatible endpoint, through :func:`clinr1.http.chat`) is
asked, with the training prompt, for up to ``samples`` traces. Each trace is scored with
:func:`clinr1.rewards.score_completion` and checked in this order; the first check it fails is
the reason it is rejected:

1. ``unanswered`` -- no single valid ``\\boxed{LETTER}`` (unstructured, truncated, malformed);
2. ``wrong`` -- a boxed letter that is not the gold one;
3. ``faithfulness`` -- below ``min_faithfulness``;
4. ``comprehensiveness`` -- below ``min_comprehensiveness``.

What passes is kept by ``keep``: ``first`` (stop asking at the first that passes: the cheapest),
``best`` (ask all ``samples``, keep the highest CRPO total) or ``all`` (ask all, keep every one
that passes). Kept traces are appended to the output JSONL as each item finishes, in the format
``clinr1 sft`` reads: the item's fields, ``completion``, ``scores``, ``teacher``, ``template``
and ``sample``.

Every finished item also gets one line in the sidecar ``OUT.log`` (JSONL): its status
(``kept``, ``rejected`` or ``failed``), what was asked, why traces were rejected, tokens and the
last error. A re-run of the same command skips every item that is ``kept`` or ``rejected`` there
(or has a trace in the output), so nothing answered is paid for twice; ``failed`` items (a
request still failing after its retries, with nothing kept) are asked again. A line torn by a
kill is dropped on the next start (:class:`~clinr1.evaluate.store.RecordStore`).

The API key is read by the HTTP client from the environment variable named by ``api_key_env``;
it is never stored here, printed or written.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from clinr1.evaluate.store import RecordStore
from clinr1.http import ChatError, ChatResult, chat
from clinr1.items import Item
from clinr1.prompts import check_template, render_messages
from clinr1.rewards import OBJECTIVES, score_completion

KEEP_MODES = ("first", "best", "all")
CHECKS = ("unanswered", "wrong", "faithfulness", "comprehensiveness")
# A teacher that answers these is misconfigured (key, model name, URL): stop, do not fail items.
FATAL_STATUS = frozenset({401, 403, 404})
DONE = ("kept", "rejected")
_THINK = re.compile(r"^\s*<think>.*?</think>\s*", re.DOTALL | re.IGNORECASE)

ChatFn = Callable[..., ChatResult]


class DistillError(Exception):
    """The run cannot go on (bad settings, a misconfigured teacher); one line."""


@dataclass
class DistillSettings:
    """Where the teacher is, what to ask it, and which traces to keep (``clinr1 distill``)."""

    url: str
    model: str
    template: str = "crpo"
    samples: int = 4
    keep: str = "first"
    min_faithfulness: float = 0.5
    min_comprehensiveness: float = 0.5
    temperature: float = 0.6
    top_p: float | None = None
    max_tokens: int | None = None
    n_per_request: int = 1
    system: bool = True  # False: the template's instructions open the user turn instead
    strip_think: bool = True  # drop a leading <think>...</think> (not for the r1 template)
    api_key_env: str | None = "OPENAI_API_KEY"
    timeout: float = 300.0
    retries: int = 5
    backoff: float = 2.0
    workers: int = 8
    stop_after_failures: int = 10  # consecutive failed items that stop the run; 0: never

    def check(self) -> DistillSettings:
        """Raise :class:`DistillError` for settings that cannot work."""
        try:
            check_template(self.template)
        except ValueError as e:
            raise DistillError(str(e)) from None
        if self.keep not in KEEP_MODES:
            raise DistillError(f"unknown keep mode {self.keep!r}; valid: {', '.join(KEEP_MODES)}")
        for name in ("samples", "n_per_request", "workers"):
            if getattr(self, name) < 1:
                raise DistillError(f"{name} must be at least 1")
        return self


@dataclass
class ItemResult:
    """What one item cost and gave: kept trace records, rejections by check, usage, error."""

    item: Item
    records: list[dict[str, Any]] = field(default_factory=list)
    asked: int = 0  # traces requested (the n of each request, summed)
    received: int = 0
    requests: int = 0
    retries: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    usage: Counter[str] = field(default_factory=Counter)
    error: str | None = None
    fatal: bool = False

    @property
    def status(self) -> str:
        if self.records:
            return "kept"
        return "failed" if self.error else "rejected"

    def log_record(self, settings: DistillSettings) -> dict[str, Any]:
        return {
            "source": self.item.source,
            "id": self.item.id,
            "status": self.status,
            "kept": len(self.records),
            "asked": self.asked,
            "received": self.received,
            "requests": self.requests,
            "retries": self.retries,
            "rejected": dict(self.rejected),
            "usage": dict(self.usage),
            "error": self.error,
            "teacher": settings.model,
            "template": settings.template,
            "time": round(time.time(), 3),
        }


@dataclass
class DistillSummary:
    """Counts of one run, plus what the output file holds after it."""

    items: int = 0  # in the source (after --limit)
    done_before: int = 0  # skipped: finished in an earlier run
    tried: int = 0
    kept_items: int = 0
    rejected_items: int = 0
    failed_items: int = 0
    not_reached: int = 0  # left for a re-run (interrupted or stopped)
    traces_asked: int = 0
    traces_received: int = 0
    traces_kept: int = 0
    rejected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHECKS, 0))
    requests: int = 0
    retries: int = 0
    tokens: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    stopped: str | None = None  # why the run stopped early, if it did
    first_error: str | None = None  # of the first failed item, to see why at a glance
    interrupted: bool = False
    out: str = ""
    log: str = ""
    out_traces: int = 0
    out_items: int = 0

    def add(self, result: ItemResult) -> None:
        self.tried += 1
        status = result.status
        self.kept_items += status == "kept"
        self.rejected_items += status == "rejected"
        self.failed_items += status == "failed"
        if status == "failed" and self.first_error is None:
            self.first_error = result.error
        self.traces_asked += result.asked
        self.traces_received += result.received
        self.traces_kept += len(result.records)
        for reason, count in result.rejected.items():
            self.rejected[reason] = self.rejected.get(reason, 0) + count
        self.requests += result.requests
        self.retries += result.retries
        for key, value in result.usage.items():
            self.tokens[key] = self.tokens.get(key, 0) + value

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @property
    def all_failed(self) -> bool:
        """Items were tried and the teacher answered none of them (the run achieved nothing)."""
        return self.tried > 0 and self.kept_items + self.rejected_items == 0

    def lines(self) -> list[str]:
        """The human summary, a few lines."""
        rejected = sum(self.rejected.values())
        why = ", ".join(f"{k} {v}" for k, v in self.rejected.items() if v)
        out = [
            f"items: {self.items} in the source, {self.done_before} done before, {self.tried} "
            f"tried: {self.kept_items} kept, {self.rejected_items} all rejected, "
            f"{self.failed_items} failed"
            + (f", {self.not_reached} left" if self.not_reached else ""),
            f"traces: {self.traces_asked} asked, {self.traces_received} received, "
            f"{self.traces_kept} kept, {rejected} rejected" + (f" ({why})" if why else ""),
            f"requests: {self.requests} ({self.retries} retries), {self.seconds:.1f}s"
            + (
                "; tokens: " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.tokens.items()))
                if self.tokens
                else "; tokens: not reported by the server"
            ),
            f"{self.out}: {self.out_traces} traces for {self.out_items} items; log: {self.log}",
        ]
        if self.first_error:
            out.append(f"first error: {self.first_error}")
        if self.failed_items or self.not_reached:
            out.append("re-run the same command to ask again for the failed and left items")
        if self.stopped:
            out.append(f"stopped: {self.stopped}")
        return out


def safe_url(url: str) -> str:
    """``url`` without credentials or query string, for printing.

    >>> safe_url("https://user:pw@api.example.com/v1?api-key=s3cret")
    'https://api.example.com/v1'
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def log_path(out: str | Path) -> Path:
    """The sidecar of ``out`` that records every finished item: ``OUT.log``."""
    out = Path(out)
    return out.with_name(out.name + ".log")


def teacher_messages(item: Item, settings: DistillSettings) -> list[dict[str, str]]:
    """The training prompt for ``item``; without ``system`` the instructions open the user turn
    (DeepSeek-R1's own advice: no system prompt)."""
    messages = render_messages(item, settings.template)
    if settings.system:
        return messages
    system, user = messages
    return [{"role": "user", "content": f"{system['content']}\n\n{user['content']}"}]


def clean_trace(text: str, template: str = "crpo", strip_think: bool = True) -> str:
    """The teacher's reply as a training target: a leading ``<think>`` block dropped (it is not
    part of the crpo/plain format) unless the template is ``r1``; outer whitespace stripped.

    >>> clean_trace("<think>hmm</think>\\n<dx>x</dx>")
    '<dx>x</dx>'
    """
    text = text or ""
    if strip_think and template != "r1":
        text = _THINK.sub("", text, count=1)
    return text.strip()


def rejection(scores: dict[str, Any], settings: DistillSettings) -> str | None:
    """The first check (of :data:`CHECKS`) that a scored trace fails, or ``None`` if it passes."""
    if scores.get("boxed") is None:
        return "unanswered"
    if scores["accuracy"] < 1.0:
        return "wrong"
    if scores["faithfulness"] < settings.min_faithfulness:
        return "faithfulness"
    if scores["comprehensiveness"] < settings.min_comprehensiveness:
        return "comprehensiveness"
    return None


def trace_record(
    item: Item, completion: str, scores: dict[str, Any], sample: int, settings: DistillSettings
) -> dict[str, Any]:
    """One output line: the item's fields, the trace and its provenance (what ``sft`` reads)."""
    row = item.to_dict()
    row["completion"] = completion
    row["scores"] = {k: round(float(scores[k]), 4) for k in (*OBJECTIVES, "total")}
    row["teacher"] = settings.model
    row["template"] = settings.template
    row["sample"] = sample
    return json.loads(json.dumps(row, default=str))  # odd meta values (dates) become strings


def distill_item(item: Item, settings: DistillSettings, chat_fn: ChatFn = chat) -> ItemResult:
    """Ask the teacher for up to ``samples`` traces of ``item``, score them, keep by ``keep``.

    Never raises: a request that fails for good ends the item with ``error`` set (``fatal`` for
    an authentication / not-found answer); what was received until then is still judged.
    """
    result = ItemResult(item=item)
    messages = teacher_messages(item, settings)
    extra = {"top_p": settings.top_p} if settings.top_p is not None else None
    passed: list[tuple[int, str, dict[str, Any]]] = []
    while result.received < settings.samples:
        n = min(settings.n_per_request, settings.samples - result.received)
        result.asked += n
        result.requests += 1
        try:
            reply = chat_fn(
                settings.url,
                settings.model,
                messages,
                api_key_env=settings.api_key_env,
                temperature=settings.temperature,
                max_tokens=settings.max_tokens,
                n=n,
                timeout=settings.timeout,
                retries=settings.retries,
                backoff=settings.backoff,
                extra=extra,
            )
        except ChatError as e:
            result.error = str(e)
            result.retries += max(0, e.attempts - 1)
            result.fatal = e.status in FATAL_STATUS
            break
        except Exception as e:  # a teacher problem must never stop the run
            result.error = f"{type(e).__name__}: {e}"
            break
        result.retries += max(0, reply.attempts - 1)
        result.usage.update(reply.usage)
        for text in reply.texts[:n]:
            sample = result.received
            result.received += 1
            trace = clean_trace(text, settings.template, settings.strip_think)
            scores = score_completion(trace, item, settings.template)
            reason = rejection(scores, settings)
            if reason is None:
                passed.append((sample, trace, scores))
            else:
                result.rejected[reason] += 1
        if settings.keep == "first" and passed:
            break
    if settings.keep == "first":
        passed = passed[:1]
    elif settings.keep == "best" and passed:
        passed = [max(passed, key=lambda p: p[2]["total"])]  # the first of equals
    result.records = [trace_record(item, t, s, i, settings) for i, t, s in passed]
    return result


def _item_key(record: dict[str, Any]) -> tuple[str, str]:
    return (str(record["source"]), str(record["id"]))


def _trace_key(record: dict[str, Any]) -> tuple[str, str, int]:
    return (str(record["source"]), str(record["id"]), int(record["sample"]))


def run_distill(
    items: Sequence[Item],
    out: str | Path,
    settings: DistillSettings,
    *,
    chat_fn: ChatFn = chat,
    on_start: Callable[[int], None] | None = None,
    on_result: Callable[[ItemResult], None] | None = None,
) -> DistillSummary:
    """Distil ``items`` into ``out`` (appending), skipping what an earlier run finished.

    Requests run on ``settings.workers`` threads (at most that many in flight); results are
    written by this thread as items finish. Ctrl-C stops asking, writes what is in flight, and
    returns with ``interrupted`` set. ``on_start(n)`` hears how many items will be asked,
    ``on_result`` each finished item (a progress bar). A fatal teacher answer (401/403/404) or
    ``stop_after_failures`` consecutive failed items stop the run with ``stopped`` set.
    """
    settings.check()
    started = time.time()
    out = Path(out)
    if out.is_dir():
        raise DistillError(f"--out {out} is a folder; give a .jsonl file")
    traces = RecordStore(out, key=_trace_key)
    log = RecordStore(log_path(out), key=_item_key)
    done = {k for k, r in log.records.items() if r.get("status") in DONE}
    done |= {k[:2] for k in traces.records}
    before = sum((it.source, it.id) in done for it in items)
    todo: list[Item] = []
    for it in items:
        if (it.source, it.id) not in done:
            done.add((it.source, it.id))  # an id repeated in the source is asked once
            todo.append(it)
    summary = DistillSummary(items=len(items), done_before=before)
    summary.out, summary.log = str(out), str(log.path)
    if on_start is not None:
        on_start(len(todo))

    failures = 0

    def finish(result: ItemResult) -> None:
        nonlocal failures
        if result.fatal:  # not the item's fault: leave it for a re-run with fixed settings
            summary.stopped = summary.stopped or f"the teacher refused: {result.error}"
            return
        traces.append(result.records)  # traces first: a kill in between still counts as done
        log.append([result.log_record(settings)])
        summary.add(result)
        failures = failures + 1 if result.status == "failed" else 0
        if settings.stop_after_failures and failures >= settings.stop_after_failures:
            summary.stopped = summary.stopped or (
                f"{failures} items in a row failed (last: {result.error})"
            )
        if on_result is not None:
            on_result(result)

    handled: set[Future[ItemResult]] = set()
    with ThreadPoolExecutor(max_workers=settings.workers) as pool:
        futures = [pool.submit(distill_item, it, settings, chat_fn) for it in todo]
        try:
            for future in as_completed(futures):
                handled.add(future)
                finish(future.result())
                if summary.stopped:
                    break
        except KeyboardInterrupt:
            summary.interrupted = True
        if summary.stopped or summary.interrupted:
            for future in futures:
                future.cancel()
            for future in futures:  # in flight: already paid for, so write what comes back
                if future not in handled and not future.cancelled():
                    finish(future.result())
    summary.not_reached = len(todo) - summary.tried
    summary.seconds = time.time() - started
    summary.out_traces = len(traces)
    summary.out_items = len({k[:2] for k in traces.records})
    return summary
