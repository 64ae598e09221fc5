"""Greedy evaluation speed on a CPU: one batch setting per call, one line per attention.

How many seconds ``HFGenerator`` (what ``clinr1 eval`` runs) takes for ``N`` held-out items,
with the LoRA adapter as PEFT layers or merged into the weights, at a given batch size and
thread count. ``--attention sdpa --attention grouped`` times transformers' ``sdpa`` (which
copies the KV cache per query head) against clinr1's grouped attention in the same process,
on the same items, and says how many greedy answers are identical. RESULTS.md ("Where the CPU
time goes") holds the figures:

    OMP_NUM_THREADS=1 python benchmarks/eval_speed.py ITEMS.jsonl --adapter SFT_DIR \
        --mode merged --batch-size 8 --n 8
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("items", help="a JSONL file of items (clinr1's unified fields)")
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--adapter", default=None, help="a LoRA folder")
    parser.add_argument("--mode", choices=("peft", "merged"), default="peft")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--n", type=int, default=8, help="items to generate for")
    parser.add_argument("--max-new-tokens", type=int, default=384)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache", default=None, help="cache_implementation, e.g. static")
    parser.add_argument(
        "--attention", choices=("grouped", "sdpa"), action="append",
        help="grouped (what clinr1 loads on a CPU) or sdpa; repeat to compare",
    )  # fmt: skip
    args = parser.parse_args(argv)

    import torch

    from clinr1.attention import GROUPED_SDPA
    from clinr1.config import ModelConfig
    from clinr1.engine import load_model
    from clinr1.evaluate.generate import HFGenerator, Sampling
    from clinr1.prompts import render_messages

    torch.set_num_threads(args.threads)
    cfg = ModelConfig(name_or_path=args.model, engine="hf", load_in_4bit=False, dtype="float32")
    loaded = load_model(cfg, trainable=False, adapter=args.adapter, verbose=False)
    model = loaded.model
    if args.mode == "merged" and args.adapter:
        model = model.merge_and_unload()
    lines = Path(args.items).read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()][: args.n]
    prompts = [render_messages(r, "crpo") for r in rows]
    generator = HFGenerator(
        model, loaded.tokenizer, Sampling(0.0, 1.0, args.max_new_tokens, 42),
        batch_size=args.batch_size,
    )  # fmt: skip
    if args.cache:  # the same kwargs plus a KV-cache kind
        plain = generator.generate_kwargs
        generator.generate_kwargs = lambda n: {**plain(n), "cache_implementation": args.cache}
    answers = {}
    for attention in args.attention or ["grouped"]:
        model.set_attn_implementation(GROUPED_SDPA if attention == "grouped" else "sdpa")
        started = time.perf_counter()
        out = generator.generate(prompts, 1)
        seconds = time.perf_counter() - started
        tokens = [c[0].tokens for c in out]
        answers[attention] = [c[0].text for c in out]
        print(
            f"{args.mode} batch {args.batch_size} threads {args.threads} cache {args.cache} "
            f"attention {attention}: {len(rows)} items in {seconds:.1f} s, {sum(tokens)} tokens, "
            f"{sum(tokens) / seconds:.1f} tokens/s; lengths {tokens}",
            flush=True,
        )
    if len(answers) > 1:
        first, *rest = answers.values()
        same = [sum(a == b for a, b in zip(first, other, strict=True)) for other in rest]
        print(f"identical greedy answers: {same} of {len(first)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
