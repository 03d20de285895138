"""Pretraining assembly: a validated :class:`PretrainConfig` -> Composer ``Trainer`` -> trained (exported) model."""

from __future__ import annotations

import logging
import os
from functools import partial

import torch
from composer import Trainer
from composer.core import Evaluator
from composer.utils import dist, format_name_with_dist, get_device, reproducibility

from mosaicbert.algorithms.masking_schedule import MaskingRateScheduler
from mosaicbert.callbacks.gloo_fsdp import GlooFSDPGradientAverage
from mosaicbert.callbacks.nonfinite_loss import NonFiniteLossGuard
from mosaicbert.callbacks.streaming_memory import ReleaseStreamingMemory
from mosaicbert.config.components import (
    build_algorithms,
    build_callbacks,
    build_loggers,
    build_optimizer,
    build_scheduler,
)
from mosaicbert.data.loaders import MLMEvalLoaderConfig, build_mlm_dataloader
from mosaicbert.data.masking import MLMMasker
from mosaicbert.data.unigram import unigram_log_probs
from mosaicbert.models.build import build_composer_model
from mosaicbert.models.flops import mlm_training_flops
from mosaicbert.models.hf_io import export_to_hf
from mosaicbert.models.output_bias import set_mlm_bias_to_frequencies
from mosaicbert.models.registry import MODEL_REGISTRY
from mosaicbert.models.sharding import full_network
from mosaicbert.precision import resolve_precision
from mosaicbert.tokenizer import load_tokenizer

from .checkpoints import repair_checkpoint_folder
from .completion import completed_run
from .console import EvalLine
from .fsdp import build_fsdp_config
from .phases import PhaseHyperparameters, phase_trainer_arguments, starts_fresh_optimizer_hyperparameters
from .schema import MLM_BIAS_SAMPLES, PretrainConfig

log = logging.getLogger(__name__)


def build_trainer(cfg: PretrainConfig) -> Trainer:
    """Model, masked dataloaders, optimizer, schedule, algorithms, callbacks and loggers -> ``Trainer``."""
    reproducibility.seed_all(cfg.seed)
    release_memory = ReleaseStreamingMemory()  # before any dataset exists
    dist.initialize_dist(get_device(cfg.device_type), cfg.dist_timeout)
    if cfg.device_type == "cpu" and dist.get_local_world_size() > 1 and "OMP_NUM_THREADS" not in os.environ:
        # ranks sharing a CPU split its cores (oversubscribed threads slow every op down several-fold)
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // dist.get_local_world_size()))
    trainer_precision, autocast_dtype = resolve_precision(cfg.precision, cfg.device_type)
    tokenizer = load_tokenizer(cfg.model.tokenizer_name)
    model = build_composer_model(cfg.model.name, "mlm", tokenizer_name=cfg.model.tokenizer_name,
                                 model_config=dict(cfg.model.model_config), init_from=cfg.model.init_from,
                                 init_layers=cfg.model.init_layers,
                                 expected_new_weights=tuple(cfg.model.expected_new_weights),
                                 autocast_dtype=autocast_dtype)
    if cfg.model.mlm_bias_init == "unigram":
        # every rank counts the same samples: the same bias everywhere without a broadcast
        set_mlm_bias_to_frequencies(model.model, unigram_log_probs(tokenizer, cfg.train_loader, cfg.max_seq_len,
                                                                   MLM_BIAS_SAMPLES))

    # the MaskingRateScheduler sets train_masker.step to the batch count before every batch: masks are a pure
    # function of (seed, batch, sample), the same however the batch is split over ranks and microbatches
    train_masker = MLMMasker(tokenizer, cfg.masking.train_rate, seed=cfg.seed, dynamic=False,
                             whole_word=cfg.masking.whole_word)
    flop_shape = MODEL_REGISTRY[cfg.model.name].flop_shape(model.model.config)
    model.flops_per_batch = partial(mlm_training_flops, flop_shape, train_masker)
    if not cfg.train_metrics:
        model.train_metrics = {}  # Composer then skips the per-microbatch metric updates
    train_data = build_mlm_dataloader(cfg.train_loader, tokenizer, cfg.max_seq_len, cfg.device_train_batch_size,
                                      train_masker)
    evaluators = []
    if cfg.eval_loader is not None:
        eval_masker = MLMMasker(tokenizer, cfg.masking.eval_rate, seed=cfg.seed, dynamic=False,
                                whole_word=cfg.masking.whole_word)
        eval_data = build_mlm_dataloader(cfg.eval_loader, tokenizer, cfg.max_seq_len, cfg.device_eval_batch_size,
                                         eval_masker, schema=MLMEvalLoaderConfig)
        evaluators.append(Evaluator(label="eval", dataloader=eval_data))

    algorithms = build_algorithms(cfg.algorithms, masker=train_masker)
    if not any(isinstance(a, MaskingRateScheduler) for a in algorithms):
        # the scheduler also advances masker.step each batch (fresh masks every batch): always present
        algorithms.append(MaskingRateScheduler(train_masker, schedule="constant"))
    callbacks = build_callbacks(cfg.callbacks) + [EvalLine(train_masker), release_memory]
    if not any(isinstance(c, NonFiniteLossGuard) for c in callbacks):
        callbacks.append(NonFiniteLossGuard())
    if cfg.fsdp_config is not None and cfg.device_type == "cpu":
        callbacks.append(GlooFSDPGradientAverage())
    if starts_fresh_optimizer_hyperparameters(cfg):
        callbacks.append(PhaseHyperparameters(cfg.load_path))

    if cfg.autoresume and dist.get_global_rank() == 0:
        repair_checkpoint_folder(format_name_with_dist(cfg.save_folder, cfg.run_name))
    dist.barrier()

    microbatch = cfg.device_train_microbatch_size
    return Trainer(
        model=model,
        train_dataloader=train_data,
        eval_dataloader=evaluators or None,
        max_duration=cfg.max_duration,
        eval_interval=cfg.eval_interval,
        eval_subset_num_batches=cfg.eval_subset_num_batches,
        optimizers=build_optimizer(cfg.optimizer, model, lr_factor=cfg.new_weights_lr_factor, fast_modules=[
            model.model.get_submodule(head) for head in cfg.model.expected_new_weights]),
        schedulers=build_scheduler(cfg.scheduler),
        step_schedulers_every_batch=True,
        algorithms=algorithms,
        callbacks=callbacks,
        loggers=build_loggers(cfg.loggers),
        run_name=cfg.run_name,
        progress_bar=cfg.show_progress_bar,
        log_to_console=cfg.log_to_console,
        console_log_interval=cfg.console_log_interval,
        save_folder=cfg.save_folder,
        save_interval=cfg.save_interval,
        save_num_checkpoints_to_keep=cfg.save_num_checkpoints_to_keep,
        save_overwrite=cfg.save_overwrite,
        autoresume=cfg.autoresume,
        **phase_trainer_arguments(cfg),
        device=cfg.device_type,
        precision=trainer_precision,
        device_train_microbatch_size=microbatch if microbatch is not None else cfg.device_train_batch_size,
        parallelism_config=(None if cfg.fsdp_config is None
                            else {"fsdp": build_fsdp_config(cfg.fsdp_config, cfg.device_type)}),
        seed=cfg.seed,
        dist_timeout=cfg.dist_timeout,
        compile_config=None if cfg.compile_config is None else dict(cfg.compile_config),
    )


def pretrain(cfg: PretrainConfig) -> Trainer:
    """Train as configured (resuming if a checkpoint exists; a complete run only finishes its end) and export to
    ``cfg.export_hf_dir`` if set (and not there yet after a complete run)."""
    trainer = build_trainer(cfg)
    try:
        completed = completed_run(cfg, trainer)  # already at max_duration: only the run's end is done again
        if completed is not None:
            completed.finish(cfg, trainer)
        else:
            if cfg.eval_first and int(trainer.state.timestamp.batch) == 0:
                trainer.eval()
            trainer.fit()
        if cfg.export_hf_dir and not (completed and completed.exported):
            network = full_network(trainer.state.model)  # every rank: under FSDP the weights are gathered
            if network is not None:
                path = export_to_hf(network, format_name_with_dist(cfg.export_hf_dir, cfg.run_name),
                                    tokenizer=load_tokenizer(cfg.model.tokenizer_name))
                log.info("Hugging Face export: %s", path)
            dist.barrier()
    finally:
        trainer.close()
    return trainer
