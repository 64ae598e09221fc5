"""What ``clinr1 bench`` compares and how each figure is defined: the engines, the baseline,
the notes every report carries, and its one-line error."""

from __future__ import annotations

ENGINES = ("unsloth", "hf")
BASELINE = "hf"

RANDOM_INIT_NOTE = (
    "random weights (--random-init): EOS is almost never sampled, so completions run to their "
    "maximum length; a worst case for speed and memory, and no accuracy meaning"
)
ISOLATION_NOTE = (
    "each engine ran in its own process (import unsloth patches transformers/TRL process-wide), "
    "one after the other on this machine"
)

DEFINITIONS = {
    "step": "one optimizer step of GRPOTrainer: one generation round of per_device_train_batch_"
    "size x steps_per_generation completions, then gradient_accumulation_steps micro-batches",
    "step_s": "wall time from on_step_begin to on_step_end (rollout, loss, backward, optimizer)",
    "generation_s": "time in GRPOTrainer._generate_single_turn (model.generate + EOS masking)",
    "reward_s": "time in GRPOTrainer._calculate_rewards (all reward functions)",
    "training_s": "step_s - generation_s - reward_s (reference log-probs, forward, backward, "
    "optimizer)",
    "generation_tokens_per_s": "completion tokens kept (up to and including EOS, no padding) "
    "/ generation_s",
    "training_tokens_per_s": "(prompt + completion tokens of the step, no padding) / training_s",
    "profile": "generation, rewards, rollout_other (_prepare_inputs minus generation and "
    "rewards: reference-model log-probs, advantages), forward (compute_loss), backward "
    "(accelerator.backward), optimizer_other (the rest of step_s)",
    "medians": "per-step values are medians over the measured steps; warm-up steps are dropped",
    "peak_rss_gib": "the engine process's peak resident set size (ru_maxrss), load included",
    "peak_gpu_allocated_gib": "torch.cuda.max_memory_allocated over the process, load included",
    "peak_gpu_reserved_gib": "torch.cuda.max_memory_reserved (the caching allocator's peak)",
    "peak_gpu_driver_gib": "the driver's view: device memory in use (cudaMemGetInfo total - free, "
    "CUDA context included), sampled every 50 ms; what nvidia-smi shows",
    "ratios": "speedup = hf step_s / engine step_s; tokens/s ratios = engine / hf; memory "
    "ratios = engine peak / hf peak",
}


class BenchError(Exception):
    """A user-fixable benchmark problem; the message is one line."""
