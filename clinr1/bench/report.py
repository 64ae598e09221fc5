"""The table ``clinr1 bench`` prints: one column per engine, then each engine against hf."""

from __future__ import annotations

from typing import Any

from clinr1.bench.definitions import BASELINE

_ROWS = (
    # label, key (memory.* for memory), format, ratio kind: time (hf/x), rate (x/hf), mem (x/hf)
    ("seconds / step (median)", "step_s", "{:.2f}", "time"),
    ("  generation s", "generation_s", "{:.2f}", "time"),
    ("  rewards s", "reward_s", "{:.3f}", "time"),
    ("  training s", "training_s", "{:.2f}", "time"),
    ("generation tokens/s", "generation_tokens_per_s", "{:.1f}", "rate"),
    ("training tokens/s", "training_tokens_per_s", "{:.1f}", "rate"),
    ("completions / step", "completions", "{:.0f}", None),
    ("prompt tokens / step", "prompt_tokens", "{:.0f}", None),
    ("completion length (mean)", "mean_completion_length", "{:.1f}", None),
    ("clipped at max length", "clipped_ratio", "{:.0%}", None),
    ("peak GPU, driver GiB", "memory.peak_gpu_driver_gib", "{:.2f}", "mem"),
    ("peak GPU, allocated GiB", "memory.peak_gpu_allocated_gib", "{:.2f}", "mem"),
    ("peak GPU, reserved GiB", "memory.peak_gpu_reserved_gib", "{:.2f}", "mem"),
    ("peak RSS GiB", "memory.peak_rss_gib", "{:.2f}", "mem"),
)


def _get(r: dict[str, Any], key: str) -> Any:
    if key.startswith("memory."):
        return r.get("memory", {}).get(key[7:])
    return r.get(key)


def _has_steps(r: dict[str, Any]) -> bool:
    """Ran to the end, or failed after some measured steps (shown: they are real figures)."""
    return bool(r.get("ok") or r.get("measured_steps"))


def format_report(report: dict[str, Any]) -> str:
    """The table on screen: one column per engine, then each engine against hf."""
    results = report["engines"]
    engines = list(results)
    others = [e for e in engines if e != BASELINE and BASELINE in results]
    dev = report.get("device") or {}
    where = dev.get("name", "?")
    if "memory_gib" in dev:
        where += f" ({dev['memory_gib']:.0f} GiB)"
    lines = [
        f"clinr1 bench {report['recipe']}: median of {report['steps']} step(s) after "
        f"{report['warmup_steps']} warm-up, on {dev.get('kind', '?')}: {where}",
    ]
    header = f"{'':<26}" + "".join(f"{e:>12}" for e in engines)
    header += "".join(f"{e + '/' + BASELINE:>14}" for e in others)
    lines.append(header)
    for label, key, fmt, kind in _ROWS:
        values = [_get(results[e], key) if _has_steps(results[e]) else None for e in engines]
        if all(v is None for v in values):
            continue
        row = f"{label:<26}" + "".join(
            f"{(fmt.format(v) if v is not None else '-'):>12}" for v in values
        )
        for e in others:
            both = results[e].get("ok") and results[BASELINE].get("ok")
            mine, base = (_get(results[e], key), _get(results[BASELINE], key)) if both else (0, 0)
            text = ""
            if kind and mine and base:
                if kind == "time":
                    x = base / mine
                    text = f"{x:.2f}x faster" if x >= 1 else f"{1 / x:.2f}x slower"
                else:
                    text = f"{mine / base:.2f}x"
            row += f"{text:>14}"
        lines.append(row)
    for e in engines:
        r = results[e]
        if not r.get("ok"):
            partial = r.get("measured_steps")
            lines.append(
                f"{e}: FAILED: {r.get('error')}"
                + (f" (its column: the {partial} measured step(s) it finished)" if partial else "")
            )
            continue
        s = r.get("settings", {})
        lines.append(
            f"{e}: {r.get('trainer_class')}, 4-bit {s.get('load_in_4bit')}, "
            f"G={s.get('num_generations')}, {s.get('completions_per_step')} completions/step, "
            f"max {s.get('max_completion_length')} tokens, gradient checkpointing "
            f"{s.get('gradient_checkpointing')}, unsloth imported {r.get('unsloth_imported')}"
        )
        prof = r.get("profile") or {}
        total = r.get("step_s") or 0
        parts = [
            f"{k} {v:.2f}s ({v / total:.0%})" for k, v in prof.items() if v is not None and total
        ]
        lines.append(f"{e} profile: " + ", ".join(parts))
    t = report.get("targets", {})
    if t.get("why_not_judged"):
        lines.append(f"targets: not judged: {t['why_not_judged']}")
    else:

        def mark(ok: Any) -> str:
            return "n/a" if ok is None else "met" if ok else "MISSED"

        lines.append(
            f"targets: unsloth peak <= {t['t4_limit_gb']:g} GB: {mark(t['unsloth_fits_t4'])}; "
            f"speedup >= {t['speedup_min']:g}x: {mark(t['unsloth_speedup'])}; "
            f"memory <= {t['memory_ratio_max']:g}x hf: {mark(t['unsloth_memory_ratio'])}"
        )
    lines += [f"note: {n}" for n in report.get("notes", [])]
    return "\n".join(lines)
