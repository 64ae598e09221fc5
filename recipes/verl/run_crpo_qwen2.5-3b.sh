#!/usr/bin/env bash
# CRPO with verl on one 8-GPU node, the paper's setting (Clinical-R1, arXiv 2512.00601): all
# weights of Qwen2.5-3B-Instruct, GRPO with G=5, lr 1e-6, KL loss 0.001, 4096-token responses,
# rewarded by clinr1's CRPO suite (accuracy x10 + faithfulness + comprehensiveness, max 12).
#
#   pip install clinr1 verl vllm          # in one environment, on the GPU node
#   bash recipes/verl/run_crpo_qwen2.5-3b.sh [more verl overrides, e.g. trainer.logger='["console","wandb"]']
#
# Environment: DATA (parquet folder, default ~/data/clinr1), MODEL (default
# Qwen/Qwen2.5-3B-Instruct, or the cold-start SFT checkpoint), NGPUS (default 8).
# Batch sizes, micro-batches and the rollout memory share are ours, not the paper's; see README.md.
set -euo pipefail

DATA=${DATA:-$HOME/data/clinr1}
MODEL=${MODEL:-Qwen/Qwen2.5-3B-Instruct}
NGPUS=${NGPUS:-8}
# verl loads the reward by file path: point it at the installed adapter.
REWARD=$(python3 -c 'import clinr1.integrations.verl as m; print(m.__file__)')

# The paper's split: the cold start saw MedQA train[:50%], CRPO trains on the other half.
if [ ! -f "$DATA/train.parquet" ]; then
    clinr1 data export-verl medqa --split 'train[50%:]' --out "$DATA/train.parquet"
fi
if [ ! -f "$DATA/test.parquet" ]; then
    clinr1 data export-verl medqa --split test --limit 500 --out "$DATA/test.parquet"
fi

python3 -m verl.trainer.main_ppo \
    algorithm.adv_estimator=grpo \
    algorithm.use_kl_in_reward=False \
    data.train_files="$DATA/train.parquet" \
    data.val_files="$DATA/test.parquet" \
    data.train_batch_size=128 \
    data.max_prompt_length=1024 \
    data.max_response_length=4096 \
    data.filter_overlong_prompts=True \
    data.truncation=error \
    actor_rollout_ref.model.path="$MODEL" \
    actor_rollout_ref.model.use_remove_padding=True \
    actor_rollout_ref.model.enable_gradient_checkpointing=True \
    actor_rollout_ref.actor.optim.lr=1e-6 \
    actor_rollout_ref.actor.ppo_mini_batch_size=64 \
    actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4 \
    actor_rollout_ref.actor.use_kl_loss=True \
    actor_rollout_ref.actor.kl_loss_coef=0.001 \
    actor_rollout_ref.actor.kl_loss_type=low_var_kl \
    actor_rollout_ref.actor.entropy_coeff=0 \
    actor_rollout_ref.actor.fsdp_config.param_offload=False \
    actor_rollout_ref.actor.fsdp_config.optimizer_offload=False \
    actor_rollout_ref.rollout.name=vllm \
    actor_rollout_ref.rollout.n=5 \
    actor_rollout_ref.rollout.temperature=1.0 \
    actor_rollout_ref.rollout.tensor_model_parallel_size=1 \
    actor_rollout_ref.rollout.gpu_memory_utilization=0.6 \
    actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=8 \
    actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=8 \
    actor_rollout_ref.ref.fsdp_config.param_offload=True \
    reward_model.reward_manager=naive \
    custom_reward_function.path="$REWARD" \
    custom_reward_function.name=compute_score \
    trainer.critic_warmup=0 \
    trainer.logger='["console"]' \
    trainer.project_name=clinr1 \
    trainer.experiment_name=crpo-qwen2.5-3b-verl \
    trainer.n_gpus_per_node="$NGPUS" \
    trainer.nnodes=1 \
    trainer.save_freq=20 \
    trainer.test_freq=10 \
    trainer.total_epochs=1 \
    "$@"
