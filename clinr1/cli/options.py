"""Options that several commands take, declared once, and how they become clinr1's objects.

* a recipe and its ``--set`` overrides (``train``, ``sft``, ``validate``, ``eval``, ``bench``,
  ``demo``): :data:`SetOption`, :func:`resolve_recipe`;
* a model (``eval``, ``chat``, ``export``): :data:`EngineOption`, :data:`LoadIn4bitOption`,
  :data:`TrustRemoteCodeOption`; a prompt template (``chat``, ``score``, ``data export-verl``):
  :data:`TemplateOption` -- each value checked as it is parsed, in one ``error:`` line;
* a dataset (``data preview``, ``data export-verl``, ``distill``): :data:`SourceArg`,
  :data:`PathOpt` ... and :func:`load_source`, which builds the ``DataSource`` and loads it.

:func:`matching` hands a command's options to a function or settings class that takes the same
names, so a command does not copy them one by one.

Only typer and the standard library at module level.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clinr1.cli.command import error, fail

if TYPE_CHECKING:
    from clinr1.config import Recipe, RecipeError
    from clinr1.data import LoadResult


def matching(target: Callable[..., Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """The ``options`` (a command's arguments by name) that ``target`` takes as parameters."""
    names = inspect.signature(target).parameters
    return {key: value for key, value in options.items() if key in names}


# --- a recipe ------------------------------------------------------------------------------

SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        help="Override a recipe key, e.g. --set grpo.learning_rate=1e-5 (repeatable).",
        metavar="KEY=VALUE",
    ),
]


def recipe_failure(e: RecipeError) -> typer.Exit:
    """Every recipe problem, one ``error:`` line each, and exit 2."""
    return fail("\n".join(f"error: {line}" for line in e.errors))


def resolve_recipe(path: Path, overrides: list[str] | None, *, check_trl: bool = True) -> Recipe:
    """Load a recipe for a command; on errors print them all and exit 2."""
    from clinr1.config import RecipeError, load_recipe

    try:
        return load_recipe(path, overrides or [], check_trl=check_trl)
    except RecipeError as e:
        raise recipe_failure(e) from None


# --- a model and its prompt ----------------------------------------------------------------


def _known_engine(value: str) -> str:
    from clinr1.config import ENGINES

    if value not in ENGINES:
        raise error(f"unknown engine {value!r}; valid: {', '.join(ENGINES)}")
    return value


def _known_template(value: str) -> str:
    """The template as the recipe's ``prompt.template`` checks it."""
    from pydantic import ValidationError

    from clinr1.config import PromptConfig

    try:
        PromptConfig(template=value)
    except ValidationError as e:
        raise error(str(e.errors()[0]["msg"]).removeprefix("Value error, ")) from None
    return value


EngineOption = Annotated[
    str,
    typer.Option(
        help="Model engine: auto (Unsloth on a GPU, else transformers + PEFT), unsloth or hf.",
        callback=_known_engine,
    ),
]
LoadIn4bitOption = Annotated[
    bool | None,
    typer.Option(
        "--load-in-4bit/--no-load-in-4bit",
        help="Load the model in 4 bits (bitsandbytes). Default: on with a CUDA GPU.",
    ),
]
TrustRemoteCodeOption = Annotated[
    bool,
    typer.Option(help="Run the model repository's own Python code."),
]
TemplateOption = Annotated[
    str,
    typer.Option(
        "--template", help="Prompt template: crpo, r1 or plain.", callback=_known_template
    ),
]


# --- a dataset -----------------------------------------------------------------------------

SourceArg = Annotated[
    str,
    typer.Argument(
        help="Adapter: medqa, medmcqa, medxpertqa, pubmedqa, mmlu-medical, file (jsonl, "
        "csv), unified, demo.",
        show_default=False,
    ),
]
PathOpt = Annotated[
    str | None, typer.Option("--path", help="Local file (jsonl/json/csv/tsv/parquet).")
]
HubOpt = Annotated[
    str | None, typer.Option("--hub", help="Hugging Face dataset id (default: the adapter's).")
]
SubsetOpt = Annotated[
    str | None, typer.Option("--subset", help="Hub configuration (mmlu-medical: subjects).")
]
CopBaseOpt = Annotated[
    int | None,
    typer.Option("--cop-base", min=0, max=1, help="MedMCQA: 'cop' is 0- or 1-based."),
]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="A bad row is an error instead of skipped.")
]
ColumnOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--column",
        help="Generic adapter: FIELD=COLUMN, repeatable; options=COL or options=A,B,C,D.",
    ),
]
AnswerFormatOpt = Annotated[
    str | None,
    typer.Option("--answer-format", help="Generic adapter: letter, index0, index1 or text."),
]


def _columns(specs: list[str]) -> dict[str, str | list[str]]:
    """``["question=stem", "options=opa,opb"]`` -> ``{"question": "stem", "options": [...]}``."""
    out: dict[str, str | list[str]] = {}
    for spec in specs:
        field, sep, column = spec.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise error(f"--column takes FIELD=COLUMN (e.g. question=stem), got {spec!r}")
        names = [c.strip() for c in column.split(",") if c.strip()]
        out[field.strip()] = names if field.strip() == "options" and len(names) > 1 else names[0]
    return out


# The dataset options by the names of DataSource's fields (``--column`` gives ``columns``).
DATASET_OPTIONS = (
    "path", "hub", "subset", "split", "limit", "strict", "cop_base", "column", "answer_format",
)  # fmt: skip


def load_source(
    options: Mapping[str, Any], *, key: str = "data.*", prefix: str = "", **fields: Any
) -> LoadResult:
    """Build a ``DataSource`` from a command's options and load it.

    ``options`` are the command's arguments by name; those of :data:`DATASET_OPTIONS` it has
    are used, then ``fields`` (the adapter ``name``, a ``limit`` under another name...). A bad
    option or an unreachable dataset ends in one ``error:`` line and exit 2; ``prefix`` is put
    before the offending field's name (``--`` where fields are options).
    """
    from pydantic import ValidationError

    from clinr1.data import DataError, DataSource, load_items

    fields = {k: options[k] for k in DATASET_OPTIONS if k in options} | fields
    column = fields.pop("column", None)
    if column:
        fields["columns"] = _columns(column)
    try:
        data_source = DataSource(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise error(f"{prefix}{where}: {message}" if where else message) from None

    import datasets

    datasets.disable_progress_bars()
    try:
        return load_items(data_source, key=key)
    except DataError as exc:
        raise error(str(exc)) from None


def load_for_file(options: Mapping[str, Any], source: str, out: Path, suffix: str) -> LoadResult:
    """The dataset of a command that writes it to one ``out`` file (``data traces``, ``data
    export-verl``): ``out`` must end in ``suffix``, the summary line goes to stderr, and a
    dataset with no usable item is one ``error:`` line."""
    if out.suffix != suffix:
        raise error(f"--out {out}: give a {suffix} file name")
    result = load_source(options, name=source)
    typer.echo(result.summary(), err=True)
    if not result.items:
        raise error(f"{source}: no usable items, nothing written")
    return result
