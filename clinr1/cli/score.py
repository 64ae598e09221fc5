"""``clinr1 score``: the CRPO rewards of a completion, from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from clinr1.cli.command import error
from clinr1.cli.options import TemplateOption


def _read_text(path: Path, what: str) -> str:
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise error(f"cannot read {what} {path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise error(f"{what} {path} is not UTF-8 text") from None


def _check_item(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ValueError(f"{where}: an item must be a JSON object")
    missing = [k for k in ("question", "options", "answer") if k not in item]
    if missing:
        raise ValueError(f"{where}: item lacks {', '.join(missing)}")
    return item


def _parse_weights(specs: list[str] | None) -> dict[str, float]:
    from clinr1.rewards import DEFAULT_WEIGHTS, OBJECTIVES

    weights = dict(DEFAULT_WEIGHTS)
    for spec in specs or []:
        name, sep, value = spec.partition("=")
        name = name.strip()
        if not sep or name not in OBJECTIVES:
            raise error(f"--weight takes NAME=VALUE with NAME one of {', '.join(OBJECTIVES)}")
        try:
            weights[name] = float(value)
        except ValueError:
            raise error(f"--weight {spec!r}: {value!r} is not a number") from None
    return weights


def _completion_of(row: Any, where: str) -> str:
    from clinr1.rewards.parse import completion_text

    if isinstance(row, dict) and "completion" in row:
        return completion_text(row["completion"])
    if isinstance(row, str):
        return row
    raise ValueError(f'{where}: expected {{"completion": "..."}}')


def _jsonable(scores: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in scores.items()}


def _print_table(scores: dict[str, Any], weights: dict[str, float]) -> None:
    from clinr1.rewards import OBJECTIVES

    typer.echo(f"{'objective':<20}{'score':>8}{'weight':>8}{'weighted':>10}")
    for name in OBJECTIVES:
        w = weights.get(name, 0.0)
        typer.echo(f"{name:<20}{scores[name]:>8.3f}{w:>8.1f}{w * scores[name]:>10.3f}")
    best = sum(max(0.0, weights.get(k, 0.0)) for k in OBJECTIVES)
    typer.echo(f"{'total':<36}{scores['total']:>10.3f}  (max {best:g})")
    typer.echo(f"extracted answer: {scores['extracted'] or '-'}   boxed: {scores['boxed'] or '-'}")
    for key, value in scores.items():
        if "/" in key:
            shown = f"{value:.3f}" if isinstance(value, float) else str(value)
            typer.echo(f"  {key:<42}{shown}")


def score(
    item: Annotated[
        Path | None,
        typer.Option(
            "--item", help="One item as JSON (question, options, answer).", metavar="JSON"
        ),
    ] = None,
    completion: Annotated[
        Path | None,
        typer.Option(
            "--completion", help="The completion as a text file ('-': stdin).", metavar="FILE"
        ),
    ] = None,
    items: Annotated[
        Path | None,
        typer.Option("--items", help="Items, one JSON object a line.", metavar="JSONL"),
    ] = None,
    completions: Annotated[
        Path | None,
        typer.Option(
            "--completions", help='Completions, {"completion": "..."} a line.', metavar="JSONL"
        ),
    ] = None,
    template: TemplateOption = "crpo",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    weight: Annotated[
        list[str] | None,
        typer.Option("--weight", help="Override a weight, NAME=VALUE (repeatable).", metavar="N=V"),
    ] = None,
) -> None:
    """Score completions with the CRPO rewards: accuracy, format, faithfulness, comprehensiveness.

    One completion (--item ITEM.json --completion FILE): each objective, its weight and the
    weighted total; with --json, one object with accuracy, format, faithfulness,
    comprehensiveness, total, extracted (the letter evaluation reads) and the sub-scores.

    A batch (--items ITEMS.jsonl --completions COMPLETIONS.jsonl): line i against line i, one
    JSON object a line. A malformed line is reported on stderr, the others are still scored,
    and the exit status is 1.
    """
    single = item is not None or completion is not None
    batch = items is not None or completions is not None
    if single == batch or (single and (item is None or completion is None)):
        raise error("give either --item and --completion, or --items and --completions")
    if batch and (items is None or completions is None):
        raise error("give both --items and --completions")
    weights = _parse_weights(weight)

    from clinr1.rewards import score_completion

    if single:
        assert item is not None and completion is not None
        try:
            data = json.loads(_read_text(item, "item"))
        except json.JSONDecodeError as e:
            raise error(f"{item}: invalid JSON ({e.msg}, line {e.lineno})") from None
        try:
            row = _check_item(data, str(item))
        except ValueError as e:
            raise error(str(e)) from None
        scores = score_completion(_read_text(completion, "completion"), row, template, weights)
        if as_json:
            typer.echo(json.dumps(_jsonable(scores), ensure_ascii=False))
        else:
            _print_table(scores, weights)
        return

    assert items is not None and completions is not None
    item_lines = _read_text(items, "items").splitlines()
    completion_lines = _read_text(completions, "completions").splitlines()
    errors = 0
    for n in range(max(len(item_lines), len(completion_lines))):
        where = f"line {n + 1}"
        try:
            if n >= len(item_lines) or n >= len(completion_lines):
                short = items if n >= len(item_lines) else completions
                raise ValueError(f"{where}: {short} has no line {n + 1}")
            try:
                row = _check_item(json.loads(item_lines[n]), f"{where} of {items}")
            except json.JSONDecodeError as e:
                raise ValueError(f"{where} of {items}: invalid JSON ({e.msg})") from None
            try:
                text = _completion_of(json.loads(completion_lines[n]), f"{where} of {completions}")
            except json.JSONDecodeError as e:
                raise ValueError(f"{where} of {completions}: invalid JSON ({e.msg})") from None
        except ValueError as e:
            typer.echo(f"error: {e}", err=True)
            errors += 1
            continue
        scores = score_completion(text, row, template, weights)
        typer.echo(json.dumps({"line": n + 1, **_jsonable(scores)}, ensure_ascii=False))
    if errors:
        raise typer.Exit(1)
