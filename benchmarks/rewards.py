"""Throughput of the whole CRPO reward suite, as GRPO calls it, on one CPU core.

    python benchmarks/rewards.py [--n 1000] [--group 8] [--tokens 1500]

Builds ``n`` realistic ``crpo`` completions of about ``tokens`` tokens (4 characters a token)
for the sample items in ``../shared/data`` (a built-in item when absent): quoted findings, some
of them fabricated, an assessment of every option, a verification paragraph, clinical filler,
and a boxed answer, right or wrong. Then it scores them in groups of ``group`` completions per
prompt, with the columns as the training dataset carries them (``options`` as JSON text),
calling the four rewards one after another as TRL does (each parses through the shared cache),
from cold caches, pinned to one core, and prints completions/s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clinr1.rewards import build_rewards, clear_caches  # noqa: E402

DATA = ROOT / ".." / "shared" / "data" / "medqa_usmle_test_sample.jsonl"
FALLBACK = {
    "question": (
        "A 34-year-old woman has had fever for 3 days, a productive cough and pleuritic chest "
        "pain. Her temperature is 39.2°C. Crackles are heard over the right lower lobe. A chest "
        "x-ray shows a right lower lobe consolidation. Which of the following is the most likely "
        "causal organism?"
    ),
    "options": {
        "A": "Streptococcus pneumoniae",
        "B": "Mycoplasma pneumoniae",
        "C": "Legionella pneumophila",
        "D": "Staphylococcus aureus",
        "E": "Haemophilus influenzae",
    },
    "answer": "A",
}
FILLER = (
    "The time course and the combination of findings matter more than any single value here.",
    "Common conditions remain more likely than rare ones unless a finding is specific.",
    "The management question depends on confirming the diagnosis and on the patient's fitness.",
    "Each laboratory value should be read against the clinical picture rather than alone.",
    "The prior history changes the risk of some treatments and has to be weighed.",
    "Nothing in the vital signs suggests instability that would change the priorities.",
    "A unifying diagnosis that explains the whole presentation is preferred to several.",
    "The examination findings narrow the differential considerably at this point.",
)
VERDICTS_OUT = ("ruled out", "unlikely", "does not fit the findings", "excluded")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_items() -> list[dict]:
    if not DATA.exists():
        return [FALLBACK]
    items = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        items.append(
            {"question": row["question"], "options": row["options"], "answer": row["answer_idx"]}
        )
    return items


def make_completion(item: dict, rng: random.Random, n_chars: int) -> str:
    sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n", item["question"]) if len(s) > 20]
    quotes = []
    for s in rng.sample(sentences, min(4, len(sentences))):
        words = s.rstrip(".?").split()
        start = rng.randrange(max(1, len(words) - 5))
        quotes.append(" ".join(words[start : start + rng.randint(3, 7)]))
    if rng.random() < 0.3:
        quotes.append("a fabricated finding that the case never mentions")
    letters = list(item["options"])
    chosen = item["answer"] if rng.random() < 0.6 else rng.choice(letters)
    dx = ["Findings: " + ", ".join(f'"{q}"' for q in quotes) + "."]
    dx.append("First, I summarise the case; then I weigh each option in turn.")
    for k in letters:
        text = item["options"][k]
        if k == chosen:
            dx.append(f"Option {k} ({text}): explains the findings above; most likely.")
        else:
            why = rng.choice(FILLER).lower().rstrip(".")
            dx.append(f"Option {k} ({text}): {why}, and it {rng.choice(VERDICTS_OUT)}.")
    dx.append(f'To verify, option {chosen} is consistent with "{quotes[0]}".')
    body = "\n".join(dx)
    while len(body) < n_chars - 400:
        body += "\n" + rng.choice(FILLER) + " " + rng.choice(FILLER)
    conclusion = (
        f"Given {quotes[0]}, option {chosen} ({item['options'][chosen]}) is the best answer. "
        f"\\boxed{{{chosen}}}"
    )
    return f"<dx>\n{body}\n</dx>\n<conclusion>\n{conclusion}\n</conclusion>"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--group", type=int, default=8, help="completions per prompt, as in GRPO")
    ap.add_argument("--tokens", type=int, default=1500)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rng = random.Random(0)
    items = load_items()
    batches = []
    for b in range(0, args.n, args.group):
        item = items[(b // args.group) % len(items)]
        size = min(args.group, args.n - b)
        comps = [
            [{"role": "assistant", "content": make_completion(item, rng, args.tokens * 4)}]
            for _ in range(size)
        ]
        # the columns as the training dataset carries them (options as JSON text)
        cols = {"question": [item["question"]] * size, "answer": [item["answer"]] * size}
        cols["options"] = [json.dumps(item["options"])] * size
        batches.append((comps, cols))
    funcs, weights = build_rewards(
        [{"name": n} for n in ("accuracy", "format", "faithfulness", "comprehensiveness")]
    )
    clear_caches()
    t0, c0 = time.perf_counter(), time.process_time()
    totals = []
    for comps, cols in batches:
        scores = [f(completions=comps, **cols) for f in funcs]
        totals += [
            sum(w * s[i] for w, s in zip(weights, scores, strict=True)) for i in range(len(comps))
        ]
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    chars = sum(len(c[0]["content"]) for comps, _ in batches for c in comps) / args.n
    print(
        f"{args.n} completions, {chars:.0f} chars (~{chars / 4:.0f} tokens) each, "
        f"groups of {args.group}, suite {[f.__name__ for f in funcs]}"
    )
    print(f"mean total reward {sum(totals) / len(totals):.2f}")
    print(
        f"{args.n / elapsed:,.0f} completions/s on one core, wall clock "
        f"({elapsed * 1e3 / args.n:.3f} ms each); {args.n / cpu:,.0f}/s of CPU time"
    )
    print(f"machine: {_cpu_name()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")


if __name__ == "__main__":
    main()
