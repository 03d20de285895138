"""Print the top fill-mask predictions of an exported model: ``python scripts/fill_mask.py DIR "... [MASK] ..."``."""

from __future__ import annotations

import argparse

from transformers import pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model_dir", help="exported Hugging Face directory (main.py export_hf_dir)")
    parser.add_argument("sentence", help="text with one [MASK]")
    parser.add_argument("--top_k", type=int, default=5)
    args = parser.parse_args()
    fill = pipeline("fill-mask", model=args.model_dir, tokenizer=args.model_dir, trust_remote_code=True)
    print(args.sentence)
    for guess in fill(args.sentence.replace("[MASK]", fill.tokenizer.mask_token), top_k=args.top_k):
        print(f"  {guess['score']:.3f}  {guess['token_str']}")


if __name__ == "__main__":
    main()
