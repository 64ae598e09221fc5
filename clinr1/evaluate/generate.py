"""Batched generation for evaluation: vLLM, or transformers ``generate`` (plain or Unsloth).

Every backend takes a batch of chat prompts and returns, per prompt, ``n`` completions with their
length in generated tokens. Sampling is pinned: greedy when ``temperature == 0``; otherwise
temperature and top-p only (no top-k, no repetition penalty), whatever the model's own
``generation_config.json`` suggests, so that two runs of the same command agree.

* ``vllm`` -- ``vllm.LLM.chat`` with ``SamplingParams``; a LoRA adapter through ``LoRARequest``.
  Chosen by ``auto`` when vLLM is installed and a CUDA GPU is present. (Not exercised by the CPU
  test suite.)
* ``hf`` -- the model loaded by :func:`clinr1.engine.load_model` (transformers/PEFT, or Unsloth
  after ``FastLanguageModel.for_inference``), prompts left-padded and generated together.

:class:`HFStreamer` streams one reply at a time with the same sampling: ``clinr1 chat``'s
backend.
"""

from __future__ import annotations

import importlib.util
import json
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from clinr1.config import ModelConfig

Messages = list[dict[str, str]]
BACKENDS = ("auto", "hf", "vllm")


@dataclass
class Completion:
    text: str
    tokens: int  # generated tokens, up to and excluding the end-of-sequence token
    looped: bool = False  # stopped in a loop (``Sampling.stop_loops``), never finished


@dataclass
class Sampling:
    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 1024
    seed: int = 0
    stop_loops: bool = False  # end a row that repeats itself (clinr1.evaluate.loops); hf only


class Generator(Protocol):
    """What the evaluation loop needs from a backend."""

    name: str

    def generate(self, prompts: Sequence[Messages], n: int) -> list[list[Completion]]: ...


class GenerationError(Exception):
    """A backend cannot run as asked; one line saying what to change."""


def choose_backend(requested: str, cfg: ModelConfig) -> str:
    """``auto`` -> ``vllm`` when vLLM is installed and CUDA is available, else ``hf``."""
    if requested not in BACKENDS:
        raise GenerationError(f"unknown backend {requested!r}; valid: {', '.join(BACKENDS)}")
    has_vllm = importlib.util.find_spec("vllm") is not None
    if requested == "vllm":
        if not has_vllm:
            raise GenerationError(
                "--backend vllm but vllm is not installed: pip install 'clinr1[vllm]'"
            )
        from clinr1.device import cuda_available

        if not cuda_available():
            raise GenerationError("--backend vllm needs a CUDA GPU; use --backend hf")
        return "vllm"
    if requested == "auto" and has_vllm:
        from clinr1.device import cuda_available

        if cuda_available():
            return "vllm"
    return "hf"


def build_generator(
    cfg: ModelConfig,
    sampling: Sampling,
    *,
    backend: str = "auto",
    adapter: str | None = None,
    batch_size: int = 8,
) -> Generator:
    """Load the model for ``backend`` and return a generator over it."""
    chosen = choose_backend(backend, cfg)
    if chosen == "vllm" and sampling.stop_loops:
        raise GenerationError("--stop-loops works with the transformers backend: add --backend hf")
    if chosen == "vllm":
        return VLLMGenerator(cfg, sampling, adapter=adapter or cfg.adapter)
    from clinr1.engine import load_model

    loaded = load_model(cfg, trainable=False, adapter=adapter, seed=sampling.seed, verbose=False)
    return HFGenerator(
        _merged(loaded, cfg), loaded.tokenizer, sampling, batch_size=batch_size, name=loaded.engine
    )


def _merged(loaded: Any, cfg: ModelConfig) -> Any:
    """The loaded model with its LoRA folded into the weights, for generation only (evaluation
    and the chat): no extra matrix products per layer and token. Not on 4-bit weights (lossy)
    nor Unsloth's engine, which has its own inference path."""
    model = loaded.model
    if loaded.engine == "hf" and not cfg.load_in_4bit and hasattr(model, "merge_and_unload"):
        return model.merge_and_unload()
    return model


class HFGenerator:
    """transformers ``generate`` over left-padded batches (also Unsloth models)."""

    def __init__(
        self, model: Any, tokenizer: Any, sampling: Sampling, *, batch_size: int = 8, name="hf"
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.sampling = sampling
        self.batch_size = max(1, batch_size)
        self.name = name
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        stops = {tokenizer.eos_token_id, tokenizer.pad_token_id}
        gen_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
        stops.update(gen_eos if isinstance(gen_eos, (list, tuple)) else [gen_eos])
        self.stop_ids = sorted(s for s in stops if s is not None)

    def generate_kwargs(self, n: int) -> dict[str, Any]:
        """The keyword arguments of ``model.generate`` for ``n`` completions a prompt."""
        s = self.sampling
        kwargs: dict[str, Any] = dict(
            max_new_tokens=s.max_new_tokens,
            num_return_sequences=n,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=self.stop_ids,
            # Pinned, so the model's generation_config.json (e.g. Qwen's repetition_penalty
            # 1.05, top_k 20) cannot change what is measured.
            repetition_penalty=1.0,
        )
        if s.temperature > 0:  # top_k=0 switches top-k filtering off
            kwargs.update(do_sample=True, temperature=s.temperature, top_p=s.top_p, top_k=0)
        else:  # greedy; the library defaults, so that nothing warns about unused flags
            kwargs.update(do_sample=False, temperature=1.0, top_p=1.0, top_k=50)
        return kwargs

    def generate(self, prompts: Sequence[Messages], n: int) -> list[list[Completion]]:
        out: list[list[Completion]] = []
        for start in range(0, len(prompts), self.batch_size):
            out.extend(self._batch(prompts[start : start + self.batch_size], n))
        return out

    def _batch(self, prompts: Sequence[Messages], n: int) -> list[list[Completion]]:
        import torch

        tok = self.tokenizer
        texts = [
            tok.apply_chat_template(list(m), tokenize=False, add_generation_prompt=True)
            for m in prompts
        ]
        tok.padding_side = "left"
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        device = getattr(self.model, "device", None) or next(self.model.parameters()).device
        enc = {k: v.to(device) for k, v in enc.items()}
        if self.sampling.temperature > 0:
            torch.manual_seed(self.sampling.seed)
        kwargs = self.generate_kwargs(n)
        loops = None
        if self.sampling.stop_loops:
            from transformers import StoppingCriteriaList

            from clinr1.evaluate.loops import LoopStop

            loops = LoopStop(enc["input_ids"].shape[1], self.stop_ids)
            kwargs["stopping_criteria"] = StoppingCriteriaList([loops])
        with torch.inference_mode():
            ids = self.model.generate(**enc, **kwargs)
        generated = ids[:, enc["input_ids"].shape[1] :].tolist()
        stops = set(self.stop_ids)
        completions = []
        for r, row in enumerate(generated):
            length = next((i for i, t in enumerate(row) if t in stops), len(row))
            text = tok.decode(row[:length], skip_special_tokens=True)
            looped = bool(loops and loops.looped and loops.looped[r])
            completions.append(Completion(text=text, tokens=length, looped=looped))
        return [completions[i * n : (i + 1) * n] for i in range(len(prompts))]


class HFStreamer:
    """Stream one reply from a transformers (or Unsloth, or PEFT) model: the chat's backend.

    ``generate`` runs in a thread and feeds a ``TextIteratorStreamer``; a stopping criterion
    watches ``stop`` so that an interrupt ends the generation within one token. Sampling is
    :class:`HFGenerator`'s (greedy when ``temperature == 0``), so a reply is what evaluation
    generates for the same messages. ``context`` is the tokens of prompt + reply the model
    attends to (its ``max_position_embeddings`` unless lower).
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        max_new_tokens: int = 1024,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int = 0,
        context: int | None = None,
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens
        self.seed = seed
        self.temperature = temperature
        self._generator = HFGenerator(
            model, tokenizer, Sampling(temperature, top_p, max_new_tokens, seed), batch_size=1
        )
        limit = getattr(getattr(model, "config", None), "max_position_embeddings", None) or 4096
        self.context = min(context, limit) if context else limit

    def _encode(self, messages: Messages) -> dict[str, Any]:
        tok = self.tokenizer
        text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return tok(text, return_tensors="pt", add_special_tokens=False)

    def count_tokens(self, messages: Messages) -> int:
        return int(self._encode(messages)["input_ids"].shape[1])

    def stream(self, messages: Messages, stop: threading.Event) -> Iterator[str]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                return torch.full(
                    (input_ids.shape[0],), stop.is_set(), dtype=torch.bool, device=input_ids.device
                )

        device = getattr(self.model, "device", None) or next(self.model.parameters()).device
        enc = {k: v.to(device) for k, v in self._encode(messages).items()}
        kwargs = self._generator.generate_kwargs(1)
        kwargs.pop("num_return_sequences", None)

        class _TokenStreamer(TextIteratorStreamer):
            """Hands on each token's text as it comes (transformers' streamers wait for a
            space); only half a multi-byte character is held back."""

            def put(self, value):
                if len(value.shape) > 1:
                    value = value[0]
                if self.skip_prompt and self.next_tokens_are_prompt:
                    self.next_tokens_are_prompt = False
                    return
                self.token_cache.extend(value.tolist())
                text = self.tokenizer.decode(self.token_cache, **self.decode_kwargs)
                if text.endswith("\ufffd"):
                    return
                printable = text[self.print_len :]
                if text.endswith("\n"):  # start afresh, so decoding stays short
                    self.token_cache, self.print_len = [], 0
                else:
                    self.print_len = len(text)
                if printable:
                    self.on_finalized_text(printable)

        streamer = _TokenStreamer(
            self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=0.1
        )
        errors: list[BaseException] = []

        def work() -> None:
            try:
                if self.temperature > 0:
                    torch.manual_seed(self.seed)
                with torch.inference_mode():
                    self.model.generate(
                        **enc,
                        **kwargs,
                        streamer=streamer,
                        stopping_criteria=StoppingCriteriaList([_Stop()]),
                    )
            except BaseException as e:  # reported in the caller's thread
                errors.append(e)
                streamer.end()

        thread = threading.Thread(target=work, name="clinr1-generate", daemon=True)
        thread.start()
        try:
            while True:
                try:
                    chunk = next(streamer)
                except StopIteration:
                    break
                except queue.Empty:
                    if not thread.is_alive():
                        break
                    continue
                if chunk:
                    yield chunk
        finally:
            stop.set()
            thread.join()
        if errors:
            raise errors[0]


def load_streamer(
    cfg: ModelConfig,
    *,
    adapter: str | None = None,
    max_new_tokens: int = 1024,
    temperature: float = 0.0,
    context: int | None = None,
) -> HFStreamer:
    """Load ``cfg`` (+ LoRA ``adapter``) for inference and stream replies from it (the chat).

    A :class:`GenerationError` when ``max_new_tokens`` leaves no room for a prompt in the
    context; the engine's errors (:class:`~clinr1.device.EngineError`) as they come.
    """
    from transformers.utils import logging as hf_logging

    from clinr1.engine import load_model

    hf_logging.disable_progress_bar()
    loaded = load_model(cfg, trainable=False, adapter=adapter, verbose=False)
    streamer = HFStreamer(
        _merged(loaded, cfg),
        loaded.tokenizer,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        context=context,
    )
    if streamer.max_new_tokens >= streamer.context:
        raise GenerationError(
            f"--max-new-tokens {max_new_tokens} leaves no room for a prompt in the "
            f"{streamer.context}-token context"
        )
    return streamer


def _lora_rank(adapter: str) -> int:
    try:
        config = json.loads((Path(adapter) / "adapter_config.json").read_text(encoding="utf-8"))
        return int(config.get("r") or 16)
    except (OSError, ValueError, TypeError):
        return 16


class VLLMGenerator:
    """vLLM offline inference through ``LLM.chat`` (the model's chat template applied by vLLM).

    A LoRA adapter is served with ``enable_lora=True`` and a ``LoRARequest``. The model is loaded
    at the precision vLLM picks for it (a pre-quantized bnb-4bit checkpoint stays 4-bit).
    """

    name = "vllm"
    chunk_size = 256  # prompts per LLM.chat call; vLLM batches them internally

    def __init__(self, cfg: ModelConfig, sampling: Sampling, *, adapter: str | None = None):
        from vllm import LLM

        from clinr1.engine import resolve_model

        self.sampling = sampling
        self.lora = None
        kwargs: dict[str, Any] = dict(
            model=resolve_model(cfg.name_or_path, cfg.gguf_file),
            max_model_len=cfg.max_seq_length,
            gpu_memory_utilization=cfg.gpu_memory_utilization,
            seed=sampling.seed,
            trust_remote_code=cfg.trust_remote_code,
        )
        if cfg.dtype != "auto":
            kwargs["dtype"] = cfg.dtype
        if adapter:
            from vllm.lora.request import LoRARequest

            kwargs.update(enable_lora=True, max_lora_rank=max(16, _lora_rank(adapter)))
            self.lora = LoRARequest("clinr1-adapter", 1, str(Path(adapter).resolve()))
        self.llm = LLM(**kwargs)

    def generate(self, prompts: Sequence[Messages], n: int) -> list[list[Completion]]:
        from vllm import SamplingParams

        s = self.sampling
        params = SamplingParams(
            n=n,
            temperature=s.temperature,
            top_p=s.top_p if s.temperature > 0 else 1.0,
            top_k=-1,
            repetition_penalty=1.0,
            max_tokens=s.max_new_tokens,
            seed=s.seed if s.temperature > 0 else None,
        )
        outputs = self.llm.chat(
            [list(m) for m in prompts],
            sampling_params=params,
            lora_request=self.lora,
            use_tqdm=False,
            add_generation_prompt=True,
        )
        return [
            [Completion(text=o.text, tokens=len(o.token_ids)) for o in request.outputs]
            for request in outputs
        ]
