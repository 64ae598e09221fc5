"""``clinr1 eval`` and ``clinr1 compare``: measure a model on the benchmarks, compare runs.

Only typer and the standard library at module level; the evaluation stack is imported inside the
commands so that ``clinr1 --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from clinr1.cli.command import error, fail
from clinr1.cli.options import LoadIn4bitOption, SetOption, matching, resolve_recipe


def eval_(
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Hub id, local folder or .gguf file of the model (tiny-random-qwen2 for a CPU "
            "smoke run, smollm2-135m-instruct for a real one). Default: the recipe's "
            "model.name_or_path.",
        ),
    ] = None,
    benchmark: Annotated[
        str | None,
        typer.Option(
            "--benchmark",
            "-b",
            help="Comma list of NAME (medqa, medmcqa, medxpertqa, pubmedqa, mmlu-medical, demo), "
            "NAME:PATH (that benchmark from a local file) or file:PATH (items in clinr1's "
            "schema). Default: the recipe's eval.benchmarks, else demo.",
            metavar="NAME[,NAME...]",
        ),
    ] = None,
    adapter: Annotated[
        Path | None,
        typer.Option(help="LoRA adapter folder to apply to the model (e.g. a training output)."),
    ] = None,
    path: Annotated[
        Path | None,
        typer.Option(help="Local file for a single --benchmark (the same as NAME:PATH)."),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(help="Evaluate only the first N items of each benchmark.", min=1),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Output folder for generations.jsonl, summary.json, report.md. Re-running into "
            "the same folder resumes. Default: the recipe's eval.out, else "
            "outputs/eval/MODEL[+ADAPTER].",
        ),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(help="Prompt template: crpo, r1 or plain. Default: the recipe's, else crpo."),
    ] = None,
    samples: Annotated[
        int | None,
        typer.Option(help="Completions per item (K); >1 adds pass@k and maj@k. Default 1.", min=1),
    ] = None,
    temperature: Annotated[
        float | None,
        typer.Option(help="Sampling temperature; 0 (the default) is greedy decoding.", min=0.0),
    ] = None,
    top_p: Annotated[
        float, typer.Option(help="Nucleus sampling mass when temperature > 0.", min=0.0, max=1.0)
    ] = 1.0,
    max_new_tokens: Annotated[
        int | None,
        typer.Option(help="Most tokens generated per completion. Default: 1024.", min=1),
    ] = None,
    batch_size: Annotated[
        int, typer.Option(help="Prompts generated together (transformers backend).", min=1)
    ] = 8,
    backend: Annotated[
        str,
        typer.Option(
            help="Generation backend: auto (vLLM when installed and on a GPU, else "
            "transformers generate, through Unsloth for Unsloth models), hf or vllm."
        ),
    ] = "auto",
    engine: Annotated[
        str | None,
        typer.Option(help="Model loader for the transformers backend: auto, unsloth or hf."),
    ] = None,
    load_in_4bit: LoadIn4bitOption = None,
    seed: Annotated[int, typer.Option(help="Sampling seed (temperature > 0).")] = 0,
    stop_loops: Annotated[
        bool,
        typer.Option(
            "--stop-loops",
            help="End a completion once its last 32 tokens have come three times (a loop that "
            "would run to the token cap); it is recorded as looped and scored as written. "
            "Saves time on CPU with small models; transformers backend only.",
        ),
    ] = False,
    recipe: Annotated[
        Path | None,
        typer.Option(help="Recipe YAML: its model, prompt and eval sections give the defaults."),
    ] = None,
    set_: SetOption = None,
    judge_url: Annotated[
        str | None,
        typer.Option(
            help="OpenAI-compatible endpoint (e.g. http://127.0.0.1:8000/v1) that grades each "
            "completion's behaviours and faithfulness; results go under judge/... ."
        ),
    ] = None,
    judge_model: Annotated[
        str | None, typer.Option(help="Model name sent to the judge endpoint.")
    ] = None,
    judge_api_key_env: Annotated[
        str,
        typer.Option(help="Environment variable holding the judge's API key (never printed)."),
    ] = "OPENAI_API_KEY",
    judge_timeout: Annotated[
        float, typer.Option(help="Seconds before one judge request times out.", min=0.1)
    ] = 60.0,
    judge_retries: Annotated[
        int, typer.Option(help="Retries per judge call before it is counted as failed.", min=0)
    ] = 2,
    judge_workers: Annotated[
        int, typer.Option(help="Judge requests in flight at once.", min=1)
    ] = 4,
    json_: Annotated[
        bool, typer.Option("--json", help="Print summary.json instead of the report.")
    ] = False,
) -> None:
    """Evaluate a model on medical QA benchmarks: accuracy (95% CI), format, faithfulness, \
comprehensiveness, completion length, and optionally an LLM judge.

    Each finished completion is appended to OUT/generations.jsonl at once; running the same \
command again generates only what is missing. OUT/summary.json and OUT/report.md are written at \
the end. Greedy decoding and the crpo prompt by default; see docs/evaluation.md.
    """
    options = dict(locals())  # the flags, by name, before any other local
    from clinr1.device import EngineError
    from clinr1.evaluate import EvalError, plan_eval, run_eval
    from clinr1.evaluate.generate import GenerationError

    resolved = resolve_recipe(recipe, set_, check_trl=False) if recipe else None
    if set_ and not recipe:
        raise error("--set needs --recipe")
    try:
        plan = plan_eval(**matching(plan_eval, {**options, "recipe": resolved}))
    except EvalError as e:
        raise error(f"{e}") from None
    out_dir = Path(plan.settings.out)
    try:
        summary = run_eval(plan.model, plan.settings, adapter=plan.adapter, judge=plan.judge)
    except (EvalError, EngineError, GenerationError) as e:
        raise error(f"{e}") from None
    except KeyboardInterrupt:
        raise fail(interrupted(out_dir), 130) from None
    if json_:
        typer.echo(json.dumps(summary, indent=2))
    else:
        typer.echo((out_dir / "report.md").read_text(encoding="utf-8").rstrip())


def interrupted(out: Path) -> str:
    """What a Ctrl-C kept and how to go on."""
    gens = out / "generations.jsonl"
    try:
        kept = sum(1 for line in gens.read_bytes().splitlines() if line.strip())
    except OSError:
        kept = 0
    if not kept:
        return (
            "interrupted before the first completion: nothing is kept; run the same command again"
        )
    return (
        f"interrupted: {kept} completions are kept in {gens}; run the same command again to "
        "generate only the rest"
    )


def compare(
    runs: Annotated[
        list[Path],
        typer.Argument(help="Evaluation output folders (each with a summary.json).", min=1),
    ],
    json_: Annotated[
        bool, typer.Option("--json", help="Print the table as JSON instead of markdown.")
    ] = False,
    label: Annotated[
        list[str] | None,
        typer.Option(
            help="Column name for each run, in order (repeatable). Default: folder names."
        ),
    ] = None,
    metrics: Annotated[
        str | None,
        typer.Option(
            help="Comma list of metrics to show (default: all), e.g. accuracy,faithfulness."
        ),
    ] = None,
    reference: Annotated[
        bool,
        typer.Option(
            "--reference/--no-reference",
            help="Add the paper's reported MedQA/MedMCQA/MedXpertQA accuracy as reference rows.",
        ),
    ] = True,
) -> None:
    """Compare evaluation runs side by side: one row per benchmark and metric, one column per \
run (a Δ column for two runs), with the paper's reported accuracies as reference rows.

    Reference rows are labelled with how the paper read the answers (judged or boxed); runs \
whose generation settings or data differ are compared with a warning.
    """
    from clinr1.evaluate.compare import CompareError, compare_tables, render_markdown

    wanted = [m.strip() for m in metrics.split(",") if m.strip()] if metrics else None
    try:
        table = compare_tables(runs, labels=label, metrics=wanted, reference=reference)
    except CompareError as e:
        raise error(f"{e}") from None
    if json_:
        typer.echo(json.dumps(table, indent=2))
        for warning in table["warnings"]:  # the markdown carries them; JSON readers may not look
            typer.echo(f"warning: {warning}", err=True)
    else:
        typer.echo(render_markdown(table).rstrip())
