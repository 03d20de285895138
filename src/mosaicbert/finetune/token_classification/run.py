"""One token-classification run: read and check the sentences, fit with Composer's trainer (autoresumed from
``<output_dir>/checkpoints``), score entities, write ``<output_dir>/metrics.json``, export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import torch
from composer import Evaluator
from composer.utils import dist

from mosaicbert.atomic_write import write_text_atomically
from mosaicbert.did_you_mean import did_you_mean
from mosaicbert.finetune.data import DataFormatError, build_dataloader
from mosaicbert.finetune.run import fit, new_heads
from mosaicbert.models.build import build_composer_model
from mosaicbert.precision import resolve_precision
from mosaicbert.tokenizer import load_tokenizer

from .config import TokenClassificationConfig
from .entity_metric import EntityF1
from .sentences import Sentences, read_sentences
from .tag_schemes import OUTSIDE, continuation_tag, detect_scheme
from .windows import Labels, collate_windows, sentence_windows

TASK = "token_classification"
METRIC = "entity_f1"


def read_data(cfg: TokenClassificationConfig) -> dict[str, Sentences]:
    data = cfg.data
    return {split: read_sentences(Path(path), data.format, tag_column=data.tag_column,
                                  tokens_field=data.tokens_field, tags_field=data.tags_field)
            for split, path in (("train", data.train_file), ("eval", data.eval_file))}


def task_labels(cfg: TokenClassificationConfig, splits: dict[str, Sentences]) -> Labels:
    """The tag set (``labels``, else the training tags: ``O`` first, then sorted) and its scheme; an evaluation tag
    outside it is a ``DataFormatError`` naming the file and the tag's line."""
    train = splits["train"]
    scheme = cfg.tag_scheme or detect_scheme(sentence.tags for sentence in train.items)
    names = list(cfg.labels) if cfg.labels else sorted(train.tags(), key=lambda tag: (tag != OUTSIDE, tag))
    if cfg.labels:
        _check_tags(train, names, "config key 'labels'")
    if cfg.hyperparameters.label_all_tokens:  # continuation tags (I-X of a B-X word) must be labels too
        names += sorted({continuation_tag(tag, scheme) for tag in names} - set(names))
    _check_tags(splits["eval"], names, "the training file's tags")
    return Labels(tuple(names), scheme)


def _check_tags(sentences: Sentences, names: list[str], what: str) -> None:
    known = set(names)
    for sentence in sentences.items:
        for word, tag in enumerate(sentence.tags):
            if tag not in known:
                raise DataFormatError(f"{sentences.source} line {sentence.line_of(word)}: tag {tag!r} is not among "
                                      f"{what}{did_you_mean(tag, known)} ({', '.join(names)})")


def run_token_classification(cfg: TokenClassificationConfig, *,
                             echo: Callable[[str], None] = print) -> dict[str, float]:
    """Fine-tune on ``data.train_file``, score entities on ``data.eval_file``, export; return the overall metrics
    (fractions)."""
    splits = read_data(cfg)
    labels = task_labels(cfg, splits)
    hparams = cfg.hyperparameters.resolved("hyperparameters")
    echo(f"{cfg.run_name}: {len(splits['train'])} training and {len(splits['eval'])} evaluation sentences, "
         f"{len(labels.names)} tags ({labels.scheme})")
    tokenizer = load_tokenizer(cfg.model.tokenizer_name)
    windows = {split: sentence_windows(sentences, tokenizer, labels, hparams.max_seq_len,
                                       label_all_tokens=cfg.hyperparameters.label_all_tokens and split == "train")
               for split, sentences in splits.items()}
    collate = collate_windows(tokenizer.pad_token_id)
    workers = cfg.num_loader_workers
    train_loader = build_dataloader(windows["train"], tokenizer, hparams.batch_size, shuffle=True, seed=cfg.seed,
                                    num_workers=workers, collate_fn=collate)
    eval_loader = build_dataloader(windows["eval"], tokenizer, hparams.eval_batch_size, shuffle=False,
                                   num_workers=workers, collate_fn=collate)
    metric = EntityF1([sentence.tags for sentence in splits["eval"].items], labels.names, labels.scheme,
                      cfg.metric_mode)
    torch.manual_seed(cfg.seed)  # the new head's initialisation
    model = build_composer_model(
        cfg.model.name, TASK, tokenizer_name=cfg.model.tokenizer_name, model_config=dict(cfg.model.model_config),
        init_from=cfg.model.init_from, init_layers=cfg.model.init_layers, num_labels=len(labels.names),
        expected_new_weights=new_heads(cfg, TASK), autocast_dtype=resolve_precision(cfg.precision, cfg.device)[1],
        eval_metrics={METRIC: metric})
    network_config = model.model.config
    network_config.id2label = dict(enumerate(labels.names))
    network_config.label2id = {name: i for i, name in enumerate(labels.names)}
    evaluator = Evaluator(label="eval", dataloader=eval_loader, metric_names=[METRIC])
    trainer = fit(model, train_loader, [evaluator], cfg, hparams, seed=cfg.seed,
                  checkpoint_dir=Path(cfg.output_dir) / "checkpoints")
    scored = trainer.state.eval_metrics["eval"][METRIC]
    scored.compute()  # the report of the final evaluation, whichever rank reads it
    report = scored.report
    trainer.close()
    metrics = {key: report["overall"][key] for key in ("precision", "recall", "f1")}
    if dist.get_global_rank() != 0:  # every rank holds the same scores; one writes them and the export
        return metrics
    record = {"task": cfg.run_name, "metrics": metrics, "per_type": report["per_type"],
              "tag_scheme": labels.scheme, "metric_mode": cfg.metric_mode, "labels": list(labels.names)}
    write_text_atomically(Path(cfg.output_dir) / "metrics.json", json.dumps(record, indent=2))
    echo(entity_table(report))
    if cfg.export_dir:
        from mosaicbert.models.hf_io import export_to_hf

        echo(f"exported to {export_to_hf(model, cfg.export_dir)}")
    return metrics


def entity_table(report: dict) -> str:
    """The per-type and overall scores as a console table (percentages)."""
    rows = [("type", "precision", "recall", "f1", "support")]
    for kind, row in [*sorted(report["per_type"].items()), ("overall", report["overall"])]:
        rows.append((kind, *(f"{100 * row[k]:.2f}" for k in ("precision", "recall", "f1")), str(row["support"])))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                               enumerate(zip(row, widths))) for row in rows)
