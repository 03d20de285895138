"""``compile_config`` (Composer's ``torch.compile`` of the model) against eager: the same steps on the same
batches, losses equal within the profile's tolerance (bf16 kernels fused differently round differently), and the
speed ratio over the steps after the first ``compile_warmup`` (compilation, recompilation for new lengths)."""

from __future__ import annotations

import logging
import statistics

import torch
from composer import Callback, Trainer
from composer.loggers import InMemoryLogger
from torch.utils.data import DataLoader
from transformers import DataCollatorForLanguageModeling

from mosaicbert.config.components import build_optimizer
from mosaicbert.data.news import load_news_articles
from mosaicbert.measurement.steps import OPTIMIZER
from mosaicbert.measurement.timing import synchronize
from mosaicbert.models.build import build_composer_model
from mosaicbert.tokenizer import load_tokenizer

from .profiles import Profile
from .report import Row, row

CHECK = "compile"


class StepTimer(Callback):
    """Seconds of each training batch, the device's queued work included."""

    def __init__(self, device: str):
        self.device, self.seconds, self._start = device, [], 0.0

    def before_forward(self, state, logger):
        import time

        synchronize(self.device)
        self._start = time.perf_counter()

    def batch_end(self, state, logger):
        import time

        synchronize(self.device)
        self.seconds.append(time.perf_counter() - self._start)


def train(profile: Profile, samples, collator, compile_config: dict | None) -> tuple[list[float], list[float]]:
    """Losses and step seconds of ``compile_steps`` steps, same seed, model, data and masks each call."""
    torch.manual_seed(0)
    model = build_composer_model("mosaic_bert", "mlm", model_config=profile.compile_shape)
    logger, timer = InMemoryLogger(), StepTimer(profile.device)
    trainer = Trainer(model=model, train_dataloader=DataLoader(samples, batch_size=profile.compile_batch[0],
                                                               collate_fn=collator),
                      max_duration=f"{profile.compile_steps}ba",
                      optimizers=build_optimizer(OPTIMIZER, model), loggers=[logger],
                      callbacks=[timer], device="gpu" if profile.device == "cuda" else "cpu",
                      precision="amp_bf16" if profile.device == "cuda" else "fp32", progress_bar=False,
                      log_to_console=False, seed=17, compile_config=compile_config)
    try:
        trainer.fit()
    finally:
        trainer.close()
    return [float(v) for _, v in logger.data["loss/train/total"]], timer.seconds


def run(profile: Profile, work_dir) -> list[Row]:
    tokenizer = load_tokenizer("bert-base-uncased")
    sequences, length = profile.compile_batch
    articles = load_news_articles()[:sequences * profile.compile_steps]
    samples = [tokenizer(text, truncation=True, max_length=length) for text in articles]
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.3)
    eager_losses, eager_seconds = train(profile, samples, collator, None)
    torch._dynamo.reset()
    counters = torch._dynamo.utils.counters
    counters.clear()
    torch._logging.set_logs(dynamo=logging.ERROR)  # the graph breaks at unpadding are expected (README)
    try:
        compiled_losses, compiled_seconds = train(profile, samples, collator, {"backend": profile.compile_backend})
    finally:
        torch._logging.set_logs()
    graphs, breaks = counters["stats"]["unique_graphs"], sum(counters["graph_break"].values())
    torch._dynamo.reset()
    difference = max(abs(a - b) for a, b in zip(eager_losses, compiled_losses))
    warm = profile.compile_warmup
    ratio = statistics.median(eager_seconds[warm:]) / statistics.median(compiled_seconds[warm:])
    ok = graphs > 0 and len(compiled_losses) == len(eager_losses) == profile.compile_steps and \
        difference <= profile.compile_tolerance
    return [row(CHECK, f"{profile.compile_backend}, {profile.compile_steps} steps", ok,
                f"{graphs} graphs, {breaks} graph breaks; max |loss - eager| {difference:.1e} (tolerance {profile.compile_tolerance}); "
                f"speed {ratio:.2f}x eager (median step after {warm}; first step "
                f"{compiled_seconds[0]:.1f} s with compilation)",
                graphs=graphs, graph_breaks=breaks, max_loss_difference=difference, speed_ratio=ratio,
                eager_losses=eager_losses, compiled_losses=compiled_losses,
                eager_seconds=eager_seconds, compiled_seconds=compiled_seconds)]
