"""What the quickstart learned: held-out masked-token accuracy before/after and fill-mask on held-out news.

    python scripts/quickstart_report.py RUN_DIR   (RUN_DIR holds tensorboard/ and hf/ of the run)

Accuracy: the recipe's own evaluation (15% masking of the val split, fixed masks), logged to TensorBoard at
step 0 (``eval_first: true``) and at the end. Fill-mask: ``scripts/quickstart_fill_mask.tsv``, held-out
sentences whose masked word is a content word; a hit is the right word among the top 5.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from transformers import pipeline

SENTENCES = Path(__file__).with_name("quickstart_fill_mask.tsv")
ACCURACY_TAG = "metrics/eval/MaskedAccuracy"
TOP_K = 5


def eval_accuracy(tensorboard_dir: Path) -> dict[int, float]:
    """``step -> held-out masked accuracy`` over every event file of the run (later files win)."""
    values: dict[int, float] = {}
    for file in sorted(tensorboard_dir.rglob("events.out.tfevents.*"), key=lambda p: p.stat().st_mtime):
        events = EventAccumulator(str(file), size_guidance={"scalars": 0})
        events.Reload()
        if ACCURACY_TAG in events.Tags()["scalars"]:
            values.update({e.step: e.value for e in events.Scalars(ACCURACY_TAG)})
    return values


def read_sentences(path: Path = SENTENCES) -> list[tuple[str, str]]:
    """``(answer, sentence with [MASK])`` pairs of the fixed held-out set."""
    rows = [line.rstrip("\n").split("\t") for line in path.read_text().splitlines() if not line.startswith("#")]
    return [(answer, sentence) for _, answer, sentence in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    args = parser.parse_args()
    accuracy = eval_accuracy(args.run_dir / "tensorboard")
    if accuracy:
        first, last = min(accuracy), max(accuracy)
        print(f"held-out masked-token accuracy (15% masking, val split): step {first}: {accuracy[first]:.1%}"
              f"  ->  step {last}: {accuracy[last]:.1%}")
    fill = pipeline("fill-mask", model=str(args.run_dir / "hf"), tokenizer=str(args.run_dir / "hf"),
                    trust_remote_code=True)
    hits = 0
    pairs = read_sentences()
    for answer, sentence in pairs:
        guesses = [g["token_str"].strip() for g in fill(sentence.replace("[MASK]", fill.tokenizer.mask_token),
                                                        top_k=TOP_K)]
        hit = answer in guesses
        hits += hit
        print(f"{'HIT ' if hit else 'miss'}  {answer:>12} | top {TOP_K}: {', '.join(guesses)}")
    print(f"fill-mask on {len(pairs)} held-out news sentences: the masked word is in the top {TOP_K} for "
          f"{hits}/{len(pairs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
