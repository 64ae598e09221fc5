"""``--help`` that reads at 80 columns: plain layout and short, consistent metavars.

Typer's rich help puts every option in a five-column table that, at 80 columns, cuts names and
defaults with "…" and wraps descriptions at a few words; the app therefore uses the plain layout
(``rich_markup_mode=None``). Commands are registered with :class:`Command`, which gives every
option without its own metavar a short one: by name where the name says what it is (``--out
PATH``, ``--model MODEL``, ``--judge-url URL``), else by type (``N`` for integers, ``X`` for
numbers, ``PATH``, ``TEXT``) instead of Typer's ``<int range>`` and ``<list[str]>``.
"""

from __future__ import annotations

import typer
import typer.core

# Option name -> metavar, where the name says more than the type.
METAVARS: dict[str, str] = {
    "model": "MODEL",
    "base": "MODEL",
    "teacher_model": "MODEL",
    "judge_model": "MODEL",
    "adapter": "DIR",
    "recipe": "FILE",
    "path": "FILE",
    "json_out": "FILE",
    "hub": "ID",
    "subset": "NAME",
    "split": "SPLIT",
    "data": "NAME",
    "template": "NAME",
    "engine": "NAME",
    "backend": "NAME",
    "teacher_url": "URL",
    "judge_url": "URL",
    "api_key_env": "VAR",
    "judge_api_key_env": "VAR",
    "label": "NAME",
    "metrics": "LIST",
    "engines": "LIST",
    "column": "FIELD=COL",
    "answer_format": "FORMAT",
    "keep": "MODE",
    "to": "KIND",
    "quant": "TYPE",
    "dtype": "DTYPE",
    "host": "ADDR",
    "port": "PORT",
    "seed": "N",
}


def short_metavar(param: typer.core.TyperOption) -> str:
    """The metavar an option gets when it has none of its own."""
    if param.name in METAVARS:
        return METAVARS[param.name]
    desc = param.type_descriptor
    if desc.is_path:
        return "PATH"
    annotation = desc.annotation
    if desc.is_ranged:
        return "N" if desc.ranged_type_name == "int" else "X"
    if annotation is int:
        return "N"
    if annotation is float:
        return "X"
    return "TEXT"


class Command(typer.core.TyperCommand):
    """A Typer command whose options all have short metavars (see :func:`short_metavar`)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if (
                isinstance(param, typer.core.TyperOption)
                and not param.is_flag
                and param.metavar is None
            ):
                param.metavar = short_metavar(param)
