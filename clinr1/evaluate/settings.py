"""What ``clinr1 eval`` runs: the model, the benchmarks, the sampling and the judge.

:func:`plan_eval` merges the command's flags with a recipe: a flag that is given wins, else the
recipe's ``model``, ``prompt`` and ``eval`` sections (and its ``data.eval`` as the benchmark),
else the defaults here. Without a recipe the model loads in 4 bits only where a CUDA GPU can run
it. The result is what :func:`clinr1.evaluate.run_eval` takes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from clinr1.config import ModelConfig, Recipe
from clinr1.device import cuda_available
from clinr1.evaluate.benchmarks import Benchmark
from clinr1.evaluate.judge import JudgeSettings


class EvalError(Exception):
    """An evaluation that cannot run as asked; the message is one line saying what to change."""


@dataclass
class EvalSettings:
    """Everything ``clinr1 eval`` takes besides the model (the recipe's ``eval:`` section+)."""

    benchmarks: list[str | Benchmark] = field(default_factory=lambda: ["demo"])
    out: str = "outputs/eval"
    template: str = "crpo"
    limit: int | None = None
    samples: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 1024
    batch_size: int = 8
    backend: str = "auto"
    seed: int = 0
    stop_loops: bool = False  # end a completion that repeats itself (hf backend)
    path: str | None = None  # a local file for a single benchmark (--path)


@dataclass
class EvalPlan:
    """The arguments of :func:`~clinr1.evaluate.run_eval`, resolved."""

    model: ModelConfig
    settings: EvalSettings
    adapter: str | None = None
    judge: JudgeSettings | None = None


def _slug(text: str) -> str:
    name = Path(text.rstrip("/")).name or text
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in name)


def plan_eval(
    recipe: Recipe | None = None,
    *,
    model: str | None = None,
    benchmark: str | None = None,
    adapter: str | Path | None = None,
    path: str | Path | None = None,
    limit: int | None = None,
    out: str | Path | None = None,
    template: str | None = None,
    samples: int | None = None,
    temperature: float | None = None,
    top_p: float = 1.0,
    max_new_tokens: int | None = None,
    batch_size: int = 8,
    backend: str = "auto",
    engine: str | None = None,
    load_in_4bit: bool | None = None,
    seed: int = 0,
    stop_loops: bool = False,
    judge_url: str | None = None,
    judge_model: str | None = None,
    judge_api_key_env: str = "OPENAI_API_KEY",
    judge_timeout: float = 60.0,
    judge_retries: int = 2,
    judge_workers: int = 4,
) -> EvalPlan:
    """Flags over ``recipe`` over the defaults; :class:`EvalError` names the first problem.

    ``None`` is a flag not given. ``benchmark`` is the ``--benchmark`` comma list; without it
    the recipe's ``eval.benchmarks``, else its ``data.eval``, else ``demo``. ``out`` defaults to
    the recipe's ``eval.out``, else ``outputs/eval/MODEL[+ADAPTER]``.
    """
    if recipe is None and model is None:
        raise EvalError("give --model (or --recipe)")
    if (judge_url is None) != (judge_model is None):
        raise EvalError("--judge-url and --judge-model go together")
    r = recipe or Recipe()
    updates: dict[str, object] = {"lora": None}
    if model is not None:
        updates["name_or_path"] = model
    if engine is not None:
        updates["engine"] = engine
    if load_in_4bit is not None:
        updates["load_in_4bit"] = load_in_4bit
    elif recipe is None:
        updates["load_in_4bit"] = cuda_available()
    try:
        cfg = ModelConfig.model_validate({**r.model.model_dump(), **updates})
    except ValueError as e:
        raise EvalError(f"{str(e).splitlines()[-1].strip()}") from None

    benchmarks: list[str | Benchmark]
    if benchmark:
        benchmarks = [benchmark]
    elif r.eval.benchmarks:
        benchmarks = list(r.eval.benchmarks)
    elif recipe is not None and r.data.eval is not None:
        benchmarks = [Benchmark(name=r.data.eval.name, source=r.data.eval)]
    else:
        benchmarks = ["demo"]
    adapter_path = str(adapter) if adapter else cfg.adapter
    default_out = Path("outputs/eval") / (
        _slug(cfg.name_or_path) + (f"+{_slug(adapter_path)}" if adapter_path else "")
    )
    settings = EvalSettings(
        benchmarks=benchmarks,
        out=str(out or r.eval.out or default_out),
        template=template or (r.prompt.template if recipe else "crpo"),
        limit=limit if limit is not None else r.eval.limit,
        samples=samples if samples is not None else r.eval.samples,
        temperature=temperature if temperature is not None else r.eval.temperature,
        top_p=top_p,
        max_new_tokens=max_new_tokens if max_new_tokens is not None else r.eval.max_new_tokens,
        batch_size=batch_size,
        backend=backend,
        seed=seed,
        stop_loops=stop_loops,
        path=str(path) if path else None,
    )
    judge = None
    if judge_url and judge_model:
        judge = JudgeSettings(
            url=judge_url,
            model=judge_model,
            api_key_env=judge_api_key_env,
            timeout=judge_timeout,
            retries=judge_retries,
            workers=judge_workers,
        )
    return EvalPlan(model=cfg, settings=settings, adapter=adapter_path, judge=judge)
