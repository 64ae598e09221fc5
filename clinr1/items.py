"""The unified multiple-choice item: every dataset adapter produces it, every other module reads it.

Kept dependency-free (stdlib only) so rewards, prompts and the CLI can import it cheaply.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

LETTERS = string.ascii_uppercase


@dataclass
class Item:
    """One multiple-choice question in clinr1's schema.

    ``options`` is ordered letter -> text (``{"A": "...", "B": "..."}``); ``answer`` is the gold
    letter and ``answer_text`` its option text.
    """

    id: str
    source: str
    question: str
    options: dict[str, str]
    answer: str
    answer_text: str = ""
    explanation: str | None = None
    context: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> Item:
        """Build an item from a mapping in the unified schema (extra keys go to ``meta``)."""
        known = {f for f in cls.__dataclass_fields__}
        options = as_options(row.get("options"))
        answer = str(row.get("answer") or "").strip().upper()
        meta = dict(row.get("meta") or {})
        meta.update({k: v for k, v in row.items() if k not in known})
        return cls(
            id=str(row.get("id") or ""),
            source=str(row.get("source") or "local"),
            question=str(row.get("question") or ""),
            options=options,
            answer=answer,
            answer_text=str(row.get("answer_text") or options.get(answer, "")),
            explanation=row.get("explanation"),
            context=row.get("context"),
            meta=meta,
        )


def as_options(value: Any) -> dict[str, str]:
    """Normalise any reasonable options value to an ordered ``letter -> text`` dict.

    Accepts a mapping (``None`` values dropped, as Arrow fills missing struct fields with
    ``None`` when rows have different option counts), a list of texts (lettered A, B, ...), a
    list of ``{"key"/"letter": ..., "value"/"text": ...}`` dicts, or a JSON string of any of
    these. Anything else gives ``{}``. Never raises.
    """
    try:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return {}
        if isinstance(value, Mapping):
            out = {}
            for k, v in value.items():
                if v is None or k is None:
                    continue
                out[str(k).strip().upper()] = str(v)
            return out
        if isinstance(value, (list, tuple)):
            out = {}
            for i, entry in enumerate(value):
                if isinstance(entry, Mapping):
                    key = entry.get("key", entry.get("letter"))
                    text = entry.get("value", entry.get("text"))
                    if key is None or text is None:
                        continue
                    out[str(key).strip().upper()] = str(text)
                elif entry is not None and i < len(LETTERS):
                    out[LETTERS[i]] = str(entry)
            return out
    except Exception:
        return {}
    return {}
