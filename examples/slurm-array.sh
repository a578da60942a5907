#!/bin/sh
# A batch split over a Slurm job array: each array task runs one shard with
# `--shard auto` (SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT, counted from
# SLURM_ARRAY_TASK_MIN). Rate budgets are divided by the array size. A
# requeued array task reruns into its own results directory and resumes.
# Submit:   sbatch examples/slurm-array.sh tasks.jsonl
# Then:     sbx merge --out results/all results/shard-*
#SBATCH --job-name=sbx-eval
#SBATCH --array=0-7
#SBATCH --cpus-per-task=1
#SBATCH --mem=1G
#SBATCH --requeue
set -eu
tasks=${1:?usage: sbatch slurm-array.sh TASKS.jsonl}
# E2B_API_KEY comes from the submitting environment (never the command line)
exec sbx run "$tasks" --shard auto \
  --results "results/shard-$SLURM_ARRAY_TASK_ID" \
  --concurrency 250 --rate create=40/s
