"""What the quickstart learned: held-out masked-token accuracy before/after and fill-mask on held-out news.

    python scripts/quickstart_report.py RUN_DIR   (RUN_DIR holds tensorboard/ and hf/ of the run)

Accuracy: the recipe's own evaluation (15% masking of the val split, fixed masks), logged to TensorBoard at
step 0 (``eval_first: true``) and at the end. Fill-mask: 20 held-out sentences picked by a fixed rule that never
looks at a model (``fill_mask_sentences``); a hit is the right word among the top 5.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

from plot_losses import read_scalars  # this script's neighbour: reads a run's TensorBoard scalars
from transformers import pipeline

from mosaicbert.data.news import news_splits

ACCURACY_TAG = "metrics/eval/MaskedAccuracy"
TOP_K = 5


# Function words and news boilerplate that a content-word check must not ask for.
STOPWORDS = frozenset("""
about above after again against also among another around because been before being below between both could does
doing down during each even ever every from further have having here hers herself himself into itself just like made
make many more most much must never only other ours ourselves over said same says should some such than that their
theirs them themselves then there these they this those through under until upon very were what when where which while
whom whose will with within without would your yours yourself yourselves year years told according""".split())


def fill_mask_sentences(vocab: set[str], count: int = 20) -> list[tuple[str, str]]:
    """``(answer, sentence with [MASK])`` from the val split (never trained on), by a rule fixed before any run:
    the first sentence (12-40 words) of each val article in order; of its words after the third that are content
    words (4+ letters, not in STOPWORDS, one WordPiece of ``vocab``), mask the one most frequent in the train split —
    a word the news corpus can teach, whatever the model."""
    splits = news_splits()
    frequency = Counter(w for article in splits["train"] for w in re.findall(r"[a-z]+", article.lower()))
    pairs = []
    for article in splits["val"]:
        words = re.split(r"(?<=[.!?])\s+", article.strip())[0].split()
        if not 12 <= len(words) <= 40:
            continue
        candidates = [(i, w.rstrip(",.")) for i, w in enumerate(words)
                      if i >= 3 and re.fullmatch(r"[A-Za-z]{4,}[,.]?", w)]
        candidates = [(i, w) for i, w in candidates if w.lower() not in STOPWORDS and w.lower() in vocab]
        if candidates:
            i, word = max(candidates, key=lambda c: (frequency[c[1].lower()], -c[0]))
            masked = " ".join(words[:i] + [words[i].replace(word, "[MASK]")] + words[i + 1:])
            pairs.append((word.lower(), masked))
        if len(pairs) == count:
            break
    return pairs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    args = parser.parse_args()
    accuracy = read_scalars(args.run_dir / "tensorboard", ACCURACY_TAG)
    if accuracy:
        first, last = min(accuracy), max(accuracy)
        print(f"held-out masked-token accuracy (15% masking, val split): step {first}: {accuracy[first]:.1%}"
              f"  ->  step {last}: {accuracy[last]:.1%}")
    fill = pipeline("fill-mask", model=str(args.run_dir / "hf"), tokenizer=str(args.run_dir / "hf"),
                    trust_remote_code=True)
    hits = 0
    pairs = fill_mask_sentences(set(fill.tokenizer.get_vocab()))
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
