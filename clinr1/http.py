"""A small client for OpenAI-compatible chat endpoints, stdlib only (``urllib``).

``chat(url, model, messages)`` posts one ``/chat/completions`` request and returns the texts of
its choices plus the token usage. Timeouts, connection errors, HTTP 408/409/429/5xx and bodies
that are not a chat completion (garbage, a proxy's HTML page) are retried a bounded number of
times with exponential backoff (``Retry-After`` honoured, capped); anything else, or the last
failure, raises :class:`ChatError` with one line saying what happened. The API key is read from
the environment variable named by ``api_key_env`` and never appears in an error or a log.

Used by the evaluation judge and by ``clinr1 distill``.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
MAX_BACKOFF_S = 30.0


class ChatError(Exception):
    """A chat request failed for good; ``attempts`` says how many tries were made."""

    def __init__(self, message: str, *, attempts: int = 1, status: int | None = None) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.status = status


@dataclass
class ChatResult:
    """The choices' texts (``n`` of them, ``None`` content read as ``""``), usage and tries."""

    texts: list[str]
    usage: dict[str, int] = field(default_factory=dict)
    attempts: int = 1


class _Retryable(Exception):
    def __init__(self, message: str, *, status: int | None = None, wait: float | None = None):
        super().__init__(message)
        self.status = status
        self.wait = wait


def endpoint(url: str) -> str:
    """The chat-completions URL for a base URL (``http://host:8000/v1``) or a full one.

    >>> endpoint("http://127.0.0.1:8000/v1")
    'http://127.0.0.1:8000/v1/chat/completions'
    >>> endpoint("https://api.example.com/v1/chat/completions")
    'https://api.example.com/v1/chat/completions'
    """
    url = url.rstrip("/")
    return url if url.endswith("/chat/completions") else url + "/chat/completions"


def _retry_after(headers: Any) -> float | None:
    try:
        value = headers.get("Retry-After") if headers is not None else None
        return min(float(value), MAX_BACKOFF_S) if value is not None else None
    except (TypeError, ValueError):
        return None  # an HTTP date: fall back to our own backoff


def _parse(body: bytes, n: int) -> ChatResult:
    """Read a chat-completions body; anything malformed is retryable (servers do glitch)."""
    try:
        data = json.loads(body.decode("utf-8"))
        choices = sorted(data["choices"], key=lambda c: c.get("index", 0))
        texts = [str((c.get("message") or {}).get("content") or "") for c in choices]
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        snippet = body[:80].decode("utf-8", "replace").replace("\n", " ")
        raise _Retryable(f"response is not a chat completion: {snippet!r}") from None
    if not texts:
        raise _Retryable("response has no choices")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    clean = {k: int(v) for k, v in usage.items() if isinstance(v, int) and not isinstance(v, bool)}
    return ChatResult(texts=texts[:n] if n else texts, usage=clean)


def _post(url: str, payload: bytes, headers: dict[str, str], timeout: float, n: int) -> ChatResult:
    request = urllib.request.Request(url, data=payload, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as e:
        status = e.code
        reason = f"HTTP {status} {e.reason}"
        if status in RETRY_STATUS:
            raise _Retryable(reason, status=status, wait=_retry_after(e.headers)) from None
        raise ChatError(f"{url}: {reason}", status=status) from None
    except TimeoutError:
        raise _Retryable(f"timed out after {timeout:g}s") from None
    except urllib.error.URLError as e:
        if isinstance(e.reason, TimeoutError):
            raise _Retryable(f"timed out after {timeout:g}s") from None
        raise _Retryable(f"cannot connect: {e.reason}") from None
    except (OSError, http.client.HTTPException) as e:  # reset mid-read, truncated body, ...
        raise _Retryable(f"connection error: {type(e).__name__}") from None
    return _parse(body, n)


def chat(
    url: str,
    model: str,
    messages: Sequence[Mapping[str, str]],
    *,
    api_key_env: str | None = "OPENAI_API_KEY",
    temperature: float = 0.0,
    max_tokens: int | None = None,
    n: int = 1,
    timeout: float = 60.0,
    retries: int = 3,
    backoff: float = 1.0,
    extra: Mapping[str, Any] | None = None,
) -> ChatResult:
    """Send one chat-completions request; return ``n`` texts and the usage.

    ``url`` is a base URL (``.../v1``) or the full ``.../chat/completions`` address.
    ``retries`` is the number of extra tries after the first (``0`` = one try); the wait before
    try ``i`` is ``backoff * 2**(i-1)`` seconds plus up to 10 % jitter (or the server's
    ``Retry-After``), capped at 30 s. ``extra`` adds request fields (``top_p``, ``seed``, ...).
    A key is sent as ``Authorization: Bearer`` only when ``api_key_env`` names a set variable.
    Raises :class:`ChatError` (never another exception type) when it gives up.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    body: dict[str, Any] = {
        "model": model,
        "messages": [dict(m) for m in messages],
        "temperature": temperature,
        "n": n,
    }
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    body.update(extra or {})
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    key = os.environ.get(api_key_env) if api_key_env else None
    if key:
        headers["Authorization"] = f"Bearer {key}"
    target = endpoint(url)
    payload = json.dumps(body).encode("utf-8")
    attempts = max(0, int(retries)) + 1
    last = ""
    status: int | None = None
    for attempt in range(1, attempts + 1):
        try:
            result = _post(target, payload, headers, timeout, n)
            result.attempts = attempt
            return result
        except _Retryable as e:
            last = str(e)
            status = e.status
            if attempt == attempts:
                break
            wait = e.wait if e.wait is not None else backoff * 2 ** (attempt - 1)
            time.sleep(min(wait * (1 + 0.1 * random.random()), MAX_BACKOFF_S))
        except ChatError as e:
            e.attempts = attempt
            raise
    raise ChatError(
        f"{target}: {last} (gave up after {attempts} tries)", attempts=attempts, status=status
    )
