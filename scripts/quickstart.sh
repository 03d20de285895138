#!/usr/bin/env bash
# Quickstart, offline on a CPU in minutes: set up, convert the embedded news corpus to MDS, pretrain a small
# MosaicBERT with the 30% -> 15% masking-rate schedule, evaluate MLM at 15%, export to Hugging Face format
# and fill in a masked word of a held-out news sentence. Re-running resumes/reuses what is already done.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=${VENV:-.venv}/bin/python
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
DATA=data/news-mds
CONFIG=yamls/mosaic-bert-small-news.yaml
RUN=runs/mosaic-bert-small-news

if [ ! -f "$DATA/train/index.json" ] || [ ! -f "$DATA/val/index.json" ]; then
  "$PY" convert_dataset.py --source news --out_root "$DATA"
fi
"$PY" main.py "$CONFIG" "train_loader.local=$DATA" "eval_loader.local=$DATA"
"$PY" scripts/fill_mask.py "$RUN/hf" \
  "On Monday, the White House issued a list of 78 terror attacks to underscore President Donald [MASK]'s assertion that the media is failing to adequately report them."
