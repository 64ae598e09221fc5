"""``clinr1 bench``: seconds, tokens/s and peak memory of a CRPO step, per engine, side by side.

Each engine runs in **its own subprocess** (``python -m clinr1.bench --engine X``), one after
the other on the same machine, in the same call: ``import unsloth`` patches transformers and TRL
for the whole process, so an ``hf`` run in a process that has imported Unsloth would not be plain
TRL + PEFT, and each process's peak memory is that engine's alone. The parent
(:func:`run_bench`) validates the recipe, builds the random model once (``--random-init``),
starts the engines, collects their JSON and computes the ratios.

Inside an engine's process the recipe is trained for ``warmup + steps`` optimizer steps through
TRL's ``GRPOTrainer`` exactly as ``clinr1 train`` builds it; the warm-up steps are dropped. What
is measured, per optimizer step (CUDA synchronised at every boundary), is in :data:`DEFINITIONS`.
"""

from clinr1.bench.definitions import (
    BASELINE,
    DEFINITIONS,
    ENGINES,
    ISOLATION_NOTE,
    RANDOM_INIT_NOTE,
    BenchError,
)
from clinr1.bench.measure import StepTimer, measure
from clinr1.bench.random_init import ARCHITECTURES, architecture, random_model_path
from clinr1.bench.report import format_report
from clinr1.bench.run import check_targets, compare, run_bench

__all__ = [
    "ARCHITECTURES",
    "BASELINE",
    "DEFINITIONS",
    "ENGINES",
    "ISOLATION_NOTE",
    "RANDOM_INIT_NOTE",
    "BenchError",
    "StepTimer",
    "architecture",
    "check_targets",
    "compare",
    "format_report",
    "measure",
    "random_model_path",
    "run_bench",
]
