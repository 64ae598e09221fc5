"""``clinr1 chat`` (terminal or ``--web``) and ``clinr1 export`` (lora, merged, GGUF, hub).

Only typer and the standard library at module level; the model stack is imported inside.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from clinr1.cli.recipe import error


def _default_model(adapter: Path | None) -> str:
    """The adapter's base model (its run's recipe, else PEFT's record), else the default."""
    from clinr1.config import ModelConfig

    if adapter is not None:
        from clinr1.export import ExportError, read_adapter

        try:
            return read_adapter(adapter).base
        except ExportError as e:
            raise error(f"{e}") from None
    return ModelConfig().name_or_path


def chat(
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Hub id, local folder or .gguf file (smollm2-135m-instruct for a CPU try). "
            "Default: the adapter's base model, else Qwen/Qwen2.5-3B-Instruct.",
        ),
    ] = None,
    adapter: Annotated[
        Path | None, typer.Option(help="LoRA adapter folder to apply (a training output).")
    ] = None,
    template: Annotated[
        str, typer.Option(help="Prompt template: crpo, r1 or plain (its system prompt).")
    ] = "crpo",
    max_new_tokens: Annotated[
        int, typer.Option("--max-new-tokens", help="Longest reply, in tokens.", min=1)
    ] = 1024,
    temperature: Annotated[
        float, typer.Option(help="0 is greedy; above 0 samples with top-p 1.", min=0.0)
    ] = 0.0,
    context: Annotated[
        int | None,
        typer.Option(
            help="Tokens of prompt + reply the chat may use (default: the model's limit).", min=64
        ),
    ] = None,
    engine: Annotated[str, typer.Option(help="Model engine: auto, unsloth or hf.")] = "auto",
    load_in_4bit: Annotated[
        bool | None,
        typer.Option(
            "--load-in-4bit/--no-load-in-4bit",
            help="Load in 4-bit (bitsandbytes). Default: on with a CUDA GPU.",
        ),
    ] = None,
    trust_remote_code: Annotated[
        bool,
        typer.Option(help="Run the model repository's own Python code (off unless asked)."),
    ] = False,
    web: Annotated[
        bool,
        typer.Option("--web", help="Serve a Gradio page instead (needs the demo extra: gradio)."),
    ] = False,
    port: Annotated[int, typer.Option(help="Port of the --web page.")] = 7860,
    host: Annotated[
        str, typer.Option(help="Address the --web page listens on (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
) -> None:
    """Chat with a model: the <dx> and <conclusion> sections stream in colour and the boxed
    answer is highlighted.

    Commands: /case (paste a multiple-choice case; its CRPO scores follow the answer, accuracy
    once you give the gold letter), /reset, /save FILE (the transcript as JSON), /exit. Ctrl-C
    stops the reply being generated, not the session. A research model: not for clinical use.
    """
    from clinr1.prompts import TEMPLATES

    if template not in TEMPLATES:
        raise error(f"unknown template {template!r}; valid: {', '.join(TEMPLATES)}")
    if engine not in ("auto", "unsloth", "hf"):
        raise error(f"unknown engine {engine!r}; valid: auto, unsloth, hf")
    if web:
        from clinr1.chat.web import WebChatError, require_gradio

        try:
            require_gradio()
        except WebChatError as e:
            raise error(f"{e}") from None
    name = model or _default_model(adapter)

    from clinr1.chat import TerminalChat, banner

    typer.secho(banner(name, str(adapter) if adapter else None), bold=True)
    backend = _load_backend(
        name, adapter, engine, load_in_4bit, trust_remote_code, context, max_new_tokens, temperature
    )
    info = {
        "model": name,
        "adapter": str(adapter) if adapter else None,
        "max_new_tokens": max_new_tokens,
        "temperature": temperature,
    }
    if web:
        from clinr1.chat.web import launch

        launch(backend, template=template, host=host, port=port, info=info)
        return
    if sys.stdin.isatty():
        import readline  # noqa: F401 - line editing and history for input()
    TerminalChat(backend, template=template, info=info).run()


def _load_backend(
    name: str,
    adapter: Path | None,
    engine: str,
    load_in_4bit: bool | None,
    trust_remote_code: bool,
    context: int | None,
    max_new_tokens: int,
    temperature: float,
):
    from clinr1.config import ModelConfig
    from clinr1.engine import EngineError, cuda_available, load_model

    cfg = ModelConfig(
        name_or_path=name,
        engine=engine,  # type: ignore[arg-type]
        load_in_4bit=cuda_available() if load_in_4bit is None else load_in_4bit,
        max_seq_length=context or 4096,
        lora=None,
        trust_remote_code=trust_remote_code,
    )
    typer.secho(f"loading {name}{f' + {adapter}' if adapter else ''} ...", err=True, dim=True)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        loaded = load_model(
            cfg, trainable=False, adapter=str(adapter) if adapter else None, verbose=False
        )
    except EngineError as e:
        raise error(f"{e}") from None
    from clinr1.evaluate.generate import HFStreamer

    backend = HFStreamer(
        loaded.model,
        loaded.tokenizer,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        context=context,
    )
    if backend.max_new_tokens >= backend.context:
        raise error(
            f"--max-new-tokens {max_new_tokens} leaves no room for a prompt in the "
            f"{backend.context}-token context"
        )
    return backend


def export(
    adapter: Annotated[
        Path, typer.Option(help="LoRA adapter folder (a training output with adapter_config.json).")
    ],
    to: Annotated[
        str,
        typer.Option(
            help="lora (the adapter), merged16 (merged, 16-bit), merged4 (merged, bnb 4-bit, "
            "GPU) or gguf (llama.cpp)."
        ),
    ] = "merged16",
    quant: Annotated[
        str, typer.Option(help="GGUF type: q4_k_m, q5_k_m, q8_0, f16, bf16 ... (--to gguf).")
    ] = "q4_k_m",
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder (default: ADAPTER-KIND beside it)."),
    ] = None,
    push_to_hub: Annotated[
        str | None,
        typer.Option(
            "--push-to-hub",
            help="Upload to this Hugging Face model repo; the token is read from HF_TOKEN.",
            metavar="REPO",
        ),
    ] = None,
    private: Annotated[bool, typer.Option(help="Create the hub repo as private.")] = False,
    base: Annotated[
        str | None,
        typer.Option(help="Base model (default: the run's recipe, else the adapter's record)."),
    ] = None,
    engine: Annotated[
        str, typer.Option(help="auto (Unsloth on a GPU, else PEFT), unsloth or hf.")
    ] = "auto",
    dtype: Annotated[
        str,
        typer.Option(help="Merged weights: auto (the base checkpoint's), bfloat16, float16..."),
    ] = "auto",
    overwrite: Annotated[bool, typer.Option(help="Replace a non-empty --out folder.")] = False,
    trust_remote_code: Annotated[
        bool, typer.Option(help="Run the base repository's own Python code.")
    ] = False,
) -> None:
    """Export a trained adapter as a LoRA folder, a merged model (16- or 4-bit) or a GGUF file,
    with a model card (recipe, metrics from run.json, research-use disclaimer); optionally push
    it to the Hugging Face hub.
    """
    if engine not in ("auto", "unsloth", "hf"):
        raise error(f"unknown engine {engine!r}; valid: auto, unsloth, hf")
    if dtype not in ("auto", "bfloat16", "float16", "float32"):
        raise error(f"unknown dtype {dtype!r}; valid: auto, bfloat16, float16, float32")

    from clinr1.engine import EngineError
    from clinr1.export import ExportError
    from clinr1.export import export as run_export

    try:
        run_export(
            adapter,
            to,
            out=out,
            quant=quant,
            base=base,
            engine=engine,
            dtype=dtype,
            push_to_hub=push_to_hub,
            private=private,
            overwrite=overwrite,
            trust_remote_code=trust_remote_code,
            log=lambda message: typer.echo(message, err=True),
        )
    except (ExportError, EngineError) as e:
        raise error(f"{e}") from None
