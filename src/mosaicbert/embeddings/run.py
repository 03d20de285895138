"""One contrastive fine-tuning run (``sentence_embeddings.py``) with Composer's Trainer: any family's encoder from
any checkpoint (``main.py``'s, a Hugging Face or sentence-transformers folder: its transformer is at the root),
then the sentence-transformers export and, with ``data.eval_file``, the export's STS score."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch
from composer import DataSpec, Trainer
from composer.utils import dist

from mosaicbert.atomic_write import write_text_atomically
from mosaicbert.config.components import build_optimizer, build_scheduler
from mosaicbert.config.loading import ConfigError
from mosaicbert.finetune.run import train_unless_finished
from mosaicbert.models.build import build_network
from mosaicbert.models.network import ENCODER
from mosaicbert.models.registry import MODEL_REGISTRY
from mosaicbert.precision import resolve_precision

from .batches import training_loader
from .composer_model import SentenceEmbeddingModel
from .config import SentenceEmbeddingsConfig
from .encoder_module import sentence_pipeline
from .export import export_sentence_transformer
from .loading import load_embedding_model
from .losses import LOSSES
from .pairs import TextRows, read_text_rows
from .rank_gradients import AverageGradientsAcrossRanks
from .scoring import sts_spearman

POOLER = ("pooler",)  # frozen and unused (encoder_module): an MLM checkpoint has none


def _check_rows(cfg: SentenceEmbeddingsConfig, rows: TextRows) -> None:
    scored = LOSSES[cfg.loss.name].scored
    if scored != rows.scored:
        needs = "scored pairs (sentence1, sentence2, score)" if scored else "anchor, positive[, negative] rows"
        raise ConfigError(f"config key 'loss.name': {cfg.loss.name} trains on {needs}, which "
                          f"{cfg.data.train_file!r} does not hold")


def build_model(cfg: SentenceEmbeddingsConfig, encoder_dtype: torch.dtype | None):
    """The Composer model (pipeline + loss) and the tokenizer."""
    family = MODEL_REGISTRY[cfg.model.name]
    expected_new = tuple(family.new_heads.get(ENCODER, ())) + POOLER + tuple(cfg.model.expected_new_weights)
    network, tokenizer = build_network(cfg.model.name, ENCODER, tokenizer_name=cfg.model.tokenizer_name,
                                       model_config=dict(cfg.model.model_config), init_from=cfg.model.init_from,
                                       init_layers=cfg.model.init_layers, expected_new_weights=expected_new)
    pipeline = sentence_pipeline(network, cfg.pooling, cfg.normalize, encoder_dtype)
    loss = LOSSES[cfg.loss.name].build(pipeline, scale=cfg.loss.scale, symmetric=cfg.loss.symmetric,
                                       gather_across_ranks=cfg.loss.gather_across_ranks and dist.get_world_size() > 1,
                                       mini_batch_size=cfg.loss.mini_batch_size)
    return SentenceEmbeddingModel(pipeline, loss), tokenizer


def train_sentence_embeddings(cfg: SentenceEmbeddingsConfig, *,
                              echo: Callable[[str], None] = print) -> dict[str, float]:
    """Train, export (rank 0) and score; write ``<output_dir>/metrics.json``; return the metrics."""
    rows = read_text_rows(cfg.data.train_file)
    _check_rows(cfg, rows)
    eval_pairs = read_text_rows(cfg.data.eval_file) if cfg.data.eval_file else None
    if eval_pairs is not None and not eval_pairs.scored:
        raise ConfigError(f"config key 'data.eval_file': {cfg.data.eval_file!r} holds no scored pairs "
                          "(sentence1, sentence2, score)")
    hparams = cfg.hyperparameters.resolved("hyperparameters")
    world = dist.get_world_size()
    if hparams.batch_size % world:
        raise ConfigError(f"config key 'hyperparameters.batch_size': {hparams.batch_size} (the global batch) "
                          f"does not split into {world} ranks")
    precision, autocast_dtype = resolve_precision(cfg.precision, cfg.device)
    encoder_dtype = autocast_dtype or (torch.bfloat16 if precision == "amp_bf16" else None)
    echo(f"{cfg.run_name}: {len(rows)} training rows ({', '.join(rows.texts)}), loss {cfg.loss.name}, "
         f"{cfg.model.name} from {cfg.model.init_from or 'a random init'}")
    torch.manual_seed(cfg.seed)
    model, tokenizer = build_model(cfg, encoder_dtype)
    loader = training_loader(rows, tokenizer, global_batch_size=hparams.batch_size, max_seq_len=hparams.max_seq_len,
                             seed=cfg.seed, rank=dist.get_global_rank(), world_size=world,
                             num_workers=cfg.num_loader_workers)
    spec = DataSpec(loader, get_num_samples_in_batch=lambda batch: len(batch["labels"]),
                    split_batch=lambda batch, size: [batch])  # one microbatch: in-batch negatives span the batch
    started = time.perf_counter()
    trainer = Trainer(
        model=model, train_dataloader=spec, max_duration=hparams.max_duration,
        optimizers=build_optimizer({**cfg.optimizer, "lr": hparams.lr, "weight_decay": hparams.weight_decay}, model),
        schedulers=build_scheduler(cfg.scheduler), device=cfg.device, precision=precision, seed=cfg.seed,
        run_name=cfg.run_name, save_folder=cfg.save_folder, save_interval=cfg.save_interval,
        autoresume=cfg.autoresume, device_train_microbatch_size=hparams.batch_size // world,
        callbacks=[AverageGradientsAcrossRanks()] if world > 1 and LOSSES[cfg.loss.name].embeds_in_backward else [],
        progress_bar=False, log_to_console=False, loggers=[])
    # a re-run of a finished run (autoresume) trains nothing: it is exported and scored again
    trained = train_unless_finished(trainer)
    metrics = {"train_seconds": time.perf_counter() - started,
               "final_loss": float(trainer.state.loss) if trained and trainer.state.loss is not None else float("nan")}
    trainer.close()
    if dist.get_global_rank() != 0:
        return metrics
    Path(cfg.output_dir).mkdir(parents=True, exist_ok=True)
    if cfg.export_dir or eval_pairs is not None:
        with tempfile.TemporaryDirectory(dir=cfg.output_dir, prefix=".export.") as tmp:  # scored, when not kept
            out = export_sentence_transformer(model.pipeline, tokenizer, cfg.export_dir or Path(tmp) / "model",
                                              max_seq_length=hparams.max_seq_len)
            if cfg.export_dir:
                echo(f"exported to {out}")
            if eval_pairs is not None:
                metrics["sts_spearman"] = sts_spearman(load_embedding_model(str(out)), eval_pairs, progress=False)
                echo(f"{cfg.run_name}: STS Spearman {100 * metrics['sts_spearman']:.2f} on {eval_pairs.source}")
    write_text_atomically(Path(cfg.output_dir) / "metrics.json",
                          json.dumps({"run": cfg.run_name, "metrics": metrics}, indent=2))
    return metrics
