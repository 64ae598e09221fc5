"""Dataset adapters: one function per source schema, each turning a raw row into an ``Item``.

An adapter knows its source's columns and hub defaults; it never loads anything (that is
``clinr1.data.loading``). A row it cannot use raises ``BadRow`` with a short reason, which the
loader counts (or, with ``strict: true``, reports as an error). Stdlib only, so the recipe schema
can import the adapter names cheaply.

Schemas, as documented on the Hugging Face dataset cards (and, for the originals, the releases):

- ``medqa``: ``question``, ``options`` {letter: text}, ``answer`` (option text), ``answer_idx``
  (letter), ``meta_info``, optionally ``metamap_phrases``. Covers the hub's
  ``GBaker/MedQA-USMLE-4-options`` (A-D) and the original 5-option jsonl (A-E).
- ``medmcqa``: ``id``, ``question``, ``opa``..``opd``, ``cop``, ``choice_type``, ``exp``,
  ``subject_name``, ``topic_name``. ``cop`` is 0-based (ClassLabel a-d, -1 on the unlabelled test
  split) on the hub's ``openlifescienceai/medmcqa`` and 1-based in the original json release.
- ``medxpertqa``: ``TsinghuaC3I/MedXpertQA`` config ``Text``: ``id``, ``question`` (which embeds
  "Answer Choices: (A) ... (J) ..."), ``options`` {A..J}, ``label`` (letter), ``medical_task``,
  ``body_system``, ``question_type``.
- ``pubmedqa``: ``qiaojin/PubMedQA`` config ``pqa_labeled``: ``pubid``, ``question``,
  ``context`` {contexts: [...], labels: [...], meshes: [...]}, ``long_answer``,
  ``final_decision`` (yes/no/maybe).
- ``mmlu-medical``: ``cais/mmlu``, one config per subject: ``question``, ``subject``,
  ``choices`` (list of 4), ``answer`` (ClassLabel A-D, i.e. int 0-3).
- ``file`` (aliases ``jsonl``, ``csv``): any table, with ``columns`` mapping unified fields to
  column names and ``answer_format`` saying how the answer column is written; without
  ``columns``, a file already in the unified schema.
- ``unified`` / ``demo``: rows already in clinr1's schema (``Item.to_dict``), e.g. the output of
  ``clinr1 data preview --json``; ``demo`` defaults to the bundled ``demo_items.jsonl``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from clinr1.items import LETTERS, Item, as_options

# Reasons a row is skipped; the loader counts them by these exact strings.
NO_QUESTION = "no question"
NO_ANSWER = "no answer"
ANSWER_NOT_IN_OPTIONS = "answer not among the options"
TOO_FEW_OPTIONS = "fewer than 2 options"
ANSWER_MISMATCH = "answer text disagrees with the answer letter"

MEDMCQA_HUB = "openlifescienceai/medmcqa"
MMLU_MEDICAL_SUBJECTS = (
    "anatomy",
    "clinical_knowledge",
    "college_biology",
    "college_medicine",
    "medical_genetics",
    "professional_medicine",
)
ANSWER_FORMATS = ("letter", "index0", "index1", "text")
GENERIC_FIELDS = ("question", "answer", "options", "id", "explanation", "context")


class DataError(Exception):
    """A dataset problem a user can fix (bad file, wrong adapter, unreachable hub).

    The message is one line, fit to print as is.
    """


class BadRow(ValueError):
    """A row that cannot become an item; ``reason`` is one of the short reasons above."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Table(Protocol):
    """What ``Adapter.prepare`` may look at: a ``datasets.Dataset`` satisfies it."""

    column_names: list[str]

    def unique(self, column: str) -> list[Any]: ...


@dataclass
class Context:
    """Per-load settings an adapter's ``convert`` reads; ``prepare`` may fill them in."""

    name: str
    split: str = "train"
    hub: str | None = None
    key: str = "data.*"
    cop_base: int | None = None
    answer_format: str = "letter"
    columns: dict[str, str | list[str]] = field(default_factory=dict)

    def row_id(self, row: Mapping[str, Any], index: int, column: str = "id") -> str:
        """The row's own id when it has one, else ``<adapter>-<split>-<index>``."""
        value = row.get(column)
        if value is not None and str(value).strip():
            return str(value).strip()
        return f"{self.name}-{self.split}-{index}"


Convert = Callable[[Mapping[str, Any], int, Context], Item]
Prepare = Callable[[Table, Context], None]


@dataclass(frozen=True)
class Adapter:
    """One source schema: how to convert its rows, and where it lives by default."""

    name: str
    description: str
    convert: Convert
    hub: str | None = None
    subsets: tuple[str, ...] = ()
    split: str = "train"
    required: tuple[str, ...] = ()
    prepare: Prepare | None = None
    default_path: Callable[[], str] | None = None


# --- helpers ---------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _optional(value: Any) -> str | None:
    text = _text(value)
    return text or None


def _int(value: Any) -> int | None:
    """An int from an int or a digit string (``"2"``, ``"-1"``); ``None`` for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def _letter_of_text(options: Mapping[str, str], text: str) -> str:
    """The letter whose option text equals ``text`` (whitespace- and case-insensitive)."""
    wanted = " ".join(text.split()).casefold()
    hits = [k for k, v in options.items() if " ".join(v.split()).casefold() == wanted]
    if len(hits) != 1:
        raise BadRow(ANSWER_NOT_IN_OPTIONS)
    return hits[0]


def _letter_of_index(index: int | None, base: int, n: int) -> str:
    if index is None:
        raise BadRow(NO_ANSWER)
    i = index - base
    if not 0 <= i < n:
        raise BadRow(ANSWER_NOT_IN_OPTIONS)
    return LETTERS[i]


def _meta(row: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    return {k: row[k] for k in keys if row.get(k) is not None}


def check_item(item: Item) -> Item:
    """Raise ``BadRow`` unless the item is usable; fills in ``answer_text`` from the options."""
    if not item.question.strip():
        raise BadRow(NO_QUESTION)
    if len(item.options) < 2:
        raise BadRow(TOO_FEW_OPTIONS)
    if not item.answer:
        raise BadRow(NO_ANSWER)
    if item.answer not in item.options:
        raise BadRow(ANSWER_NOT_IN_OPTIONS)
    item.answer_text = item.options[item.answer]
    return item


# --- MedQA -----------------------------------------------------------------------------------


def medqa(row: Mapping[str, Any], index: int, ctx: Context) -> Item:
    """MedQA (USMLE): the letter is ``answer_idx``; ``answer`` (text) must agree with it."""
    options = as_options(row.get("options"))
    letter = _text(row.get("answer_idx")).upper()
    text = _text(row.get("answer"))
    if not letter and text:
        letter = _letter_of_text(options, text)
    elif letter in options and text and options[letter].split() != text.split():
        raise BadRow(ANSWER_MISMATCH)
    return Item(
        id=ctx.row_id(row, index),
        source=ctx.name,
        question=_text(row.get("question")),
        options=options,
        answer=letter,
        meta=_meta(row, ("meta_info", "row")),
    )


# --- MedMCQA ---------------------------------------------------------------------------------

_MEDMCQA_OPTION_COLUMNS = ("opa", "opb", "opc", "opd")


def medmcqa_prepare(table: Table, ctx: Context) -> None:
    """Decide whether ``cop`` is 0- or 1-based, from the data where it is unambiguous.

    Some ``cop == 0`` means 0-based, some ``cop == 4`` means 1-based. With only 1-3 present the
    data cannot tell: the hub's ``openlifescienceai/medmcqa`` is documented 0-based, anything
    else needs ``cop_base`` in the recipe. An explicit ``cop_base`` that the data contradicts is
    an error, not a silent remapping.
    """
    values = {_int(v) for v in table.unique("cop")}
    has0, has4 = 0 in values, 4 in values
    detected = 0 if has0 and not has4 else 1 if has4 and not has0 else None
    hint = f"set {ctx.key}.cop_base: 0 or 1 in the recipe (CLI --cop-base)"
    if ctx.cop_base is not None:
        if detected is not None and detected != ctx.cop_base:
            seen = 0 if has0 else 4
            raise DataError(
                f"cop_base is {ctx.cop_base} but the MedMCQA data has cop={seen}, which only "
                f"{detected}-based data has; fix {ctx.key}.cop_base (CLI --cop-base)"
            )
        return
    if detected is not None:
        ctx.cop_base = detected
    elif has0 and has4:
        raise DataError(f"MedMCQA 'cop' holds both 0 and 4, so its base is unclear; {hint}")
    elif ctx.hub == MEDMCQA_HUB:
        ctx.cop_base = 0  # documented on the dataset card: ClassLabel a-d = 0-3
    else:
        raise DataError(
            f"cannot tell whether MedMCQA 'cop' is 0-based (hub copy) or 1-based (original "
            f"release): the data only has cop values 1-3; {hint}"
        )


def medmcqa(row: Mapping[str, Any], index: int, ctx: Context) -> Item:
    """MedMCQA: options ``opa``..``opd`` are A-D; ``cop`` indexes them from ``ctx.cop_base``.

    An empty option is dropped but letters keep their positions. ``cop`` of -1 (the hub's
    unlabelled test split) or null is "no answer".
    """
    options = {
        LETTERS[i]: _text(row.get(col))
        for i, col in enumerate(_MEDMCQA_OPTION_COLUMNS)
        if _text(row.get(col))
    }
    cop = _int(row.get("cop"))
    if cop is None or cop == -1:
        raise BadRow(NO_ANSWER)
    if ctx.cop_base is None:  # convert called without prepare: refuse to guess
        raise DataError(f"MedMCQA cop base unknown; set {ctx.key}.cop_base (CLI --cop-base)")
    letter = _letter_of_index(cop, ctx.cop_base, len(_MEDMCQA_OPTION_COLUMNS))
    return Item(
        id=ctx.row_id(row, index),
        source=ctx.name,
        question=_text(row.get("question")),
        options=options,
        answer=letter,
        explanation=_optional(row.get("exp")),
        meta=_meta(row, ("subject_name", "topic_name", "choice_type")),
    )


# --- MedXpertQA ------------------------------------------------------------------------------

_ANSWER_CHOICES = re.compile(r"\s*Answer Choices:\s*\(A\)[\s\S]*\Z")


def strip_answer_choices(question: str) -> str:
    """Drop a trailing "Answer Choices: (A) ..." block (MedXpertQA embeds the options).

    >>> strip_answer_choices("Which drug? Answer Choices: (A) x (B) y")
    'Which drug?'
    """
    return _ANSWER_CHOICES.sub("", question).strip()


def medxpertqa(row: Mapping[str, Any], index: int, ctx: Context) -> Item:
    """MedXpertQA Text: options A-J, gold letter in ``label``; options are not repeated in the
    question."""
    return Item(
        id=ctx.row_id(row, index),
        source=ctx.name,
        question=strip_answer_choices(_text(row.get("question"))),
        options=as_options(row.get("options")),
        answer=_text(row.get("label")).upper(),
        meta=_meta(row, ("medical_task", "body_system", "question_type")),
    )


# --- PubMedQA --------------------------------------------------------------------------------

PUBMEDQA_OPTIONS = {"A": "yes", "B": "no", "C": "maybe"}


def _pubmedqa_context(value: Any) -> str | None:
    if isinstance(value, str):
        return _optional(value)
    if not isinstance(value, Mapping):
        return None
    texts = value.get("contexts") or []
    labels = value.get("labels") or []
    parts = []
    for i, text in enumerate(texts):
        label = _text(labels[i]) if i < len(labels) else ""
        parts.append(f"{label}: {_text(text)}" if label else _text(text))
    return "\n".join(parts) or None


def pubmedqa(row: Mapping[str, Any], index: int, ctx: Context) -> Item:
    """PubMedQA: options yes/no/maybe (A/B/C); the abstract (minus its conclusion) is the
    ``context``, the conclusion (``long_answer``) the ``explanation``."""
    decision = _text(row.get("final_decision")).lower()
    if not decision:
        raise BadRow(NO_ANSWER)
    letters = {v: k for k, v in PUBMEDQA_OPTIONS.items()}
    if decision not in letters:
        raise BadRow(ANSWER_NOT_IN_OPTIONS)
    context = row.get("context")
    meshes = context.get("meshes") if isinstance(context, Mapping) else None
    return Item(
        id=ctx.row_id(row, index, column="pubid"),
        source=ctx.name,
        question=_text(row.get("question")),
        options=dict(PUBMEDQA_OPTIONS),
        answer=letters[decision],
        explanation=_optional(row.get("long_answer")),
        context=_pubmedqa_context(context),
        meta={"meshes": list(meshes)} if meshes else {},
    )


# --- MMLU ------------------------------------------------------------------------------------


def mmlu(row: Mapping[str, Any], index: int, ctx: Context) -> Item:
    """MMLU (``cais/mmlu``): ``choices`` lettered A-D, ``answer`` a 0-based index (or a letter)."""
    options = as_options(list(row.get("choices") or []))
    raw = row.get("answer")
    if isinstance(raw, str) and raw.strip().upper() in options:
        letter = raw.strip().upper()
    else:
        letter = _letter_of_index(_int(raw), 0, len(options))
    subject = _text(row.get("subject")) or "mmlu"
    return Item(
        id=_text(row.get("id")) or f"mmlu-{subject}-{ctx.split}-{index}",
        source=ctx.name,
        question=_text(row.get("question")),
        options=options,
        answer=letter,
        meta={"subject": subject},
    )


# --- generic file ----------------------------------------------------------------------------


def _option_columns(ctx: Context) -> list[str]:
    spec = ctx.columns.get("options")
    return list(spec) if isinstance(spec, list) else [spec] if spec else []


def generic_prepare(table: Table, ctx: Context) -> None:
    """Check the column mapping against the file, and that letters really are letters.

    Without ``columns`` the file must already be in the unified schema (``question``,
    ``options``, ``answer`` letter, ...), read as the ``unified`` adapter reads it.
    """
    where = f"{ctx.key}.columns"
    if not ctx.columns:
        missing = [c for c in ("question", "options", "answer") if c not in table.column_names]
        if missing or ctx.answer_format != "letter":
            raise DataError(
                f"without {where} a file must be in clinr1's item schema (question, options, "
                f"answer letter); it has columns: {', '.join(table.column_names)}; map yours "
                f"with {where} (CLI --column FIELD=COLUMN)"
            )
        return
    for need in ("question", "answer", "options"):
        if not ctx.columns.get(need) and need in table.column_names:
            ctx.columns[need] = need  # an unmapped field reads the column of the same name
        if not ctx.columns.get(need):
            raise DataError(
                f"the generic adapter needs {where}.{need} (CLI --column {need}=COLUMN); "
                f"the file has columns: {', '.join(table.column_names)}"
            )
    mapped = [str(v) for k, v in ctx.columns.items() if k != "options"]
    missing = [c for c in [*mapped, *_option_columns(ctx)] if c not in table.column_names]
    if missing:
        raise DataError(
            f"{where} names columns the file lacks: {', '.join(map(str, missing))}; "
            f"it has: {', '.join(table.column_names)}"
        )
    if ctx.answer_format == "letter":
        values = [v for v in table.unique(str(ctx.columns["answer"])) if v is not None]
        if values and all(_int(v) is not None for v in values):
            raise DataError(
                f"the answer column '{ctx.columns['answer']}' holds numbers, not letters; set "
                f"{ctx.key}.answer_format: index0 or index1 (CLI --answer-format)"
            )


def generic(row: Mapping[str, Any], index: int, ctx: Context) -> Item:
    """A table with a column mapping; ``ctx.answer_format`` says how answers are written:
    ``letter`` (A, B, ...), ``index0``/``index1`` (position), or ``text`` (the option text).
    Without a mapping the rows are in the unified schema already."""
    if not ctx.columns:
        return unified(row, index, ctx)
    cols = ctx.columns
    option_cols = _option_columns(ctx)
    if len(option_cols) == 1:
        options = as_options(row.get(option_cols[0]))
    else:
        options = {
            LETTERS[i]: _text(row.get(c)) for i, c in enumerate(option_cols) if _text(row.get(c))
        }
    raw = row.get(str(cols["answer"]))
    fmt = ctx.answer_format
    if raw is None or _text(raw) == "":
        raise BadRow(NO_ANSWER)
    if fmt == "letter":
        letter = _text(raw).upper()
    elif fmt == "text":
        letter = _letter_of_text(options, _text(raw))
    else:
        letter = _letter_of_index(_int(raw), 0 if fmt == "index0" else 1, len(LETTERS))
    used = {str(v) for k, v in cols.items() if k != "options"} | set(option_cols)
    return Item(
        id=ctx.row_id(row, index, column=str(cols.get("id", "id"))),
        source=ctx.name,
        question=_text(row.get(str(cols["question"]))),
        options=options,
        answer=letter,
        explanation=_optional(row.get(str(cols["explanation"]))) if "explanation" in cols else None,
        context=_optional(row.get(str(cols["context"]))) if "context" in cols else None,
        meta={k: v for k, v in row.items() if k not in used and v is not None},
    )


# --- unified ---------------------------------------------------------------------------------


def unified(row: Mapping[str, Any], index: int, ctx: Context) -> Item:
    """Rows already in clinr1's schema. Arrow fills keys missing from some rows' ``meta`` with
    nulls; those are dropped again."""
    item = Item.from_dict(row)
    item.meta = {k: v for k, v in item.meta.items() if v is not None}
    if not item.id:
        item.id = f"{ctx.name}-{ctx.split}-{index}"
    return item


def demo_path() -> str:
    """Path of the bundled demo set (``clinr1/assets/demo_items.jsonl``)."""
    from importlib.resources import files

    return str(files("clinr1.assets").joinpath("demo_items.jsonl"))


# --- registry --------------------------------------------------------------------------------

_GENERIC = dict(
    description="any jsonl/json/csv/parquet file, with a column mapping",
    convert=generic,
    prepare=generic_prepare,
)

ADAPTERS: dict[str, Adapter] = {
    a.name: a
    for a in (
        Adapter(
            "medqa",
            "MedQA-USMLE: hub GBaker/MedQA-USMLE-4-options or the original 5-option jsonl",
            medqa,
            hub="GBaker/MedQA-USMLE-4-options",
            required=("question", "options"),
        ),
        Adapter(
            "medmcqa",
            "MedMCQA: hub openlifescienceai/medmcqa (cop 0-based) or the original json (1-based)",
            medmcqa,
            hub=MEDMCQA_HUB,
            required=("question", *_MEDMCQA_OPTION_COLUMNS, "cop"),
            prepare=medmcqa_prepare,
        ),
        Adapter(
            "medxpertqa",
            "MedXpertQA Text: hub TsinghuaC3I/MedXpertQA config Text, options A-J",
            medxpertqa,
            hub="TsinghuaC3I/MedXpertQA",
            subsets=("Text",),
            split="test",
            required=("question", "options", "label"),
        ),
        Adapter(
            "pubmedqa",
            "PubMedQA pqa_labeled: yes/no/maybe with the abstract as context",
            pubmedqa,
            hub="qiaojin/PubMedQA",
            subsets=("pqa_labeled",),
            required=("question", "final_decision"),
        ),
        Adapter(
            "mmlu-medical",
            "MMLU medical subjects (cais/mmlu); subset: one subject or a comma list",
            mmlu,
            hub="cais/mmlu",
            subsets=MMLU_MEDICAL_SUBJECTS,
            split="test",
            required=("question", "choices", "answer"),
        ),
        Adapter("file", **_GENERIC),
        Adapter("jsonl", **_GENERIC),
        Adapter("csv", **_GENERIC),
        Adapter(
            "unified",
            "a file already in clinr1's item schema (e.g. from `clinr1 data preview --json`)",
            unified,
            required=("question", "options", "answer"),
        ),
        Adapter(
            "demo",
            "the bundled demo set of original clinical vignettes (no download)",
            unified,
            required=("question", "options", "answer"),
            default_path=demo_path,
        ),
    )
}

GENERIC_ADAPTERS = ("file", "jsonl", "csv")


def get_adapter(name: str) -> Adapter:
    """The adapter called ``name``; an unknown name is a ``DataError`` listing the valid ones."""
    try:
        return ADAPTERS[name]
    except KeyError:
        raise DataError(
            f"unknown dataset adapter {name!r}; choose one of: {', '.join(ADAPTERS)}"
        ) from None
