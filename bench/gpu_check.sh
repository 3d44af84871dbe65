#!/usr/bin/env bash
# The engine's GPU checks in one go, for a session with a CUDA GPU (none had one when this was
# written, so its figures are still to be measured):
#
#     bash bench/gpu_check.sh [DATASET_DIR]      # default ../shared/datasets/faces; PYTHON=... to choose
#
# 1. the GPU and torch's view of it;
# 2. bench/device_check.py: the engine on the GPU against the stored CPU reference (166 faces in
#    47 dev photos): same face counts, min IoU (>= 0.95 wanted), landmark px and embedding
#    differences (<= 1e-4 wanted; TF32 is off);
# 3. bench/pipeline_speed.py on the GPU: the 26-face photo at 1600 and 4032 px, 20 runs each
#    (targets: <= 30 ms detect + embed at 1600 px, >= 1,000 photos a minute);
# 4. the same on one CPU thread of that machine, with the peer, for reference.
# A few minutes in all, most of it step 4.
set -euo pipefail
cd "$(dirname "$0")/.."
dataset=${1:-../shared/datasets/faces}
python=${PYTHON:-.venv/bin/python}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$python" -c "import torch; assert torch.cuda.is_available(), 'torch sees no CUDA GPU'; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"
"$python" bench/device_check.py "$dataset" --device cuda
"$python" bench/pipeline_speed.py "$dataset" --device cuda --repeats 20 --no-peer
"$python" bench/pipeline_speed.py "$dataset" --device cpu --repeats 3
