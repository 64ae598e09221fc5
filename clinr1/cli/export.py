"""``clinr1 export``: a trained adapter as a LoRA folder, a merged model or a GGUF file.

Only typer and the standard library at module level; the model stack is imported inside.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clinr1.cli.command import error
from clinr1.cli.options import EngineOption, TrustRemoteCodeOption


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
    engine: EngineOption = "auto",
    dtype: Annotated[
        str,
        typer.Option(help="Merged weights: auto (the base checkpoint's), bfloat16, float16..."),
    ] = "auto",
    overwrite: Annotated[bool, typer.Option(help="Replace a non-empty --out folder.")] = False,
    trust_remote_code: TrustRemoteCodeOption = False,
) -> None:
    """Export a trained adapter as a LoRA folder, a merged model (16- or 4-bit) or a GGUF file,
    with a model card (recipe, metrics from run.json, research-use disclaimer); optionally push
    it to the Hugging Face hub.
    """
    from clinr1.config import DTYPES

    if dtype not in DTYPES:
        raise error(f"unknown dtype {dtype!r}; valid: {', '.join(DTYPES)}")

    from clinr1.device import EngineError
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
