"""``clinr1 chat``: a model in the terminal, or on a web page with ``--web``.

Only typer and the standard library at module level; the model stack is imported inside.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from clinr1.cli.command import error
from clinr1.cli.options import (
    EngineOption,
    LoadIn4bitOption,
    TemplateOption,
    TrustRemoteCodeOption,
)


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
    template: TemplateOption = "crpo",
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
    engine: EngineOption = "auto",
    load_in_4bit: LoadIn4bitOption = None,
    trust_remote_code: TrustRemoteCodeOption = False,
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
    if web:
        from clinr1.chat.web import WebChatError, require_gradio

        try:
            require_gradio()
        except WebChatError as e:
            raise error(f"{e}") from None
    name = model or _default_model(adapter)

    from clinr1.chat import TerminalChat, banner
    from clinr1.config import ModelConfig
    from clinr1.device import EngineError
    from clinr1.evaluate.generate import GenerationError, load_streamer

    typer.secho(banner(name, str(adapter) if adapter else None), bold=True)
    cfg = ModelConfig.for_inference(
        name,
        engine=engine,
        load_in_4bit=load_in_4bit,
        max_seq_length=context or 4096,
        trust_remote_code=trust_remote_code,
    )
    typer.secho(f"loading {name}{f' + {adapter}' if adapter else ''} ...", err=True, dim=True)
    try:
        backend = load_streamer(
            cfg,
            adapter=str(adapter) if adapter else None,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            context=context,
        )
    except (EngineError, GenerationError) as e:
        raise error(f"{e}") from None
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
