"""Grouped-query attention on a CPU without copying the KV cache.

Qwen2, Llama and SmolLM2 share each key/value head between several query heads. When a batch
has padding (every batched evaluation and GRPO generation does), transformers' ``sdpa``
attention expands the keys and values to one copy per query head before calling SDPA, because
the fused kernels of a GPU cannot take grouped heads together with a mask. On a CPU that copy of
the whole KV cache, in every layer at every generated token, is the largest cost of a decoding
step: SmolLM2-135M wrote 384 tokens for 8 held-out items in 91 s with the copy and in 55-66 s
without it, the same greedy text (benchmarks/RESULTS.md, "Where the CPU time goes").

:func:`use_grouped_sdpa` switches a CPU model to :func:`grouped_sdpa_forward`, which hands the
grouped heads to ``torch.nn.functional.scaled_dot_product_attention`` (``enable_gqa=True``),
whose CPU kernels take a mask; every other case goes to transformers' own ``sdpa`` unchanged.
"""

from __future__ import annotations

from typing import Any

# Only engine.load_model imports this module, once torch and transformers are loaded anyway; at
# the top here, the attention below (called per layer and per token) imports nothing.
import torch
from transformers.integrations.sdpa_attention import sdpa_attention_forward

# The name the model's config carries while switched; never written into a saved config.
GROUPED_SDPA = "clinr1_grouped_sdpa"


def grouped_sdpa_forward(
    module: Any,
    query: Any,
    key: Any,
    value: Any,
    attention_mask: Any,
    dropout: float = 0.0,
    scaling: float | None = None,
    is_causal: bool | None = None,
    **kwargs: Any,
) -> tuple[Any, None]:
    """Attention with the signature of transformers' ``sdpa_attention_forward``.

    Only a masked call with grouped heads takes the new path: without a mask transformers
    already passes ``enable_gqa``, and a position bias or ``output_attentions`` keep its code.
    """
    grouped = getattr(module, "num_key_value_groups", 1) > 1
    special = kwargs.get("position_bias") is not None or kwargs.get("output_attentions", False)
    if attention_mask is None or not grouped or special:
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
            is_causal=is_causal, **kwargs,
        )  # fmt: skip
    # With a mask transformers never sets is_causal either: the mask holds the causal pattern.
    out = torch.nn.functional.scaled_dot_product_attention(
        query, key, value, attn_mask=attention_mask, dropout_p=dropout, scale=scaling,
        enable_gqa=True,
    )  # fmt: skip
    return out.transpose(1, 2).contiguous(), None


def _register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(GROUPED_SDPA, grouped_sdpa_forward)
    AttentionMaskInterface.register(GROUPED_SDPA, sdpa_mask)  # the same masks as sdpa


def use_grouped_sdpa(model: Any) -> bool:
    """Switch a CPU model that uses ``sdpa`` with grouped key/value heads; True if switched.

    A model on a GPU, with another attention, or with one key/value head per query head is
    left as it is.
    """
    config = getattr(model, "config", None)
    if config is None or getattr(config, "_attn_implementation", None) != "sdpa":
        return False
    heads = getattr(config, "num_attention_heads", None)
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    if not heads or kv_heads >= heads:
        return False
    if any(p.device.type != "cpu" for p in model.parameters()):
        return False
    _register()
    model.set_attn_implementation(GROUPED_SDPA)  # a model that cannot switch only warns
    return config._attn_implementation == GROUPED_SDPA
