"""DomainUpsampling: change the stream mixture of the training data for the last part of training.

Streaming fixes a dataset's stream proportions for a whole epoch, so the switch is made an epoch
boundary: before the switch the training dataset runs one epoch of exactly the samples up to the
switch point (with the configured mixture), from there on epochs use the upsampled proportions.
The algorithm re-weights the :class:`~mosaicbert.data.text_dataset.StreamingTextDataset` in place
(at ``FIT_START`` and at every ``EPOCH_START``) and restarts persistent dataloader workers, which hold
copies of the dataset. Which phase applies is a pure function of ``state.timestamp`` (the sample at which
the current epoch began), and the dataset's own position is in Composer checkpoints, so a resumed run
continues the schedule exactly.

Give ``max_duration`` in samples or batches: the switch redefines what an epoch is.
"""

from __future__ import annotations

from typing import Mapping, Union

from composer.core import Algorithm, Event, State, Time, TimeUnit
from composer.loggers import Logger
from composer.utils import dist

from mosaicbert.data.text_dataset import StreamingTextDataset


def restart_workers(dataloader) -> None:
    """Shut down a dataloader's persistent workers so the next epoch starts workers with fresh dataset copies."""
    iterator = getattr(dataloader, "_iterator", None)
    if iterator is not None:
        iterator._shutdown_workers()
        dataloader._iterator = None


class DomainUpsampling(Algorithm):
    """Switch the training streams to ``proportions`` once ``start`` is reached.

    Args:
        start: when the switch happens, as a Composer time in samples, batches or a fraction of the run
            (e.g. ``"0.85dur"``: the last 15% of training); rounded down to whole global batches.
        proportions: stream name -> relative proportion after the switch (unnamed streams keep theirs).
    """

    def __init__(self, start: Union[str, Time], proportions: Mapping[str, float]):
        self.start = Time.from_input(start, TimeUnit.DURATION)
        if self.start.unit not in (TimeUnit.DURATION, TimeUnit.SAMPLE, TimeUnit.BATCH):
            raise ValueError(f"domain_upsampling start {self.start} must be in dur, sp or ba")
        if not proportions or any(p < 0 for p in proportions.values()) or not sum(proportions.values()) > 0:
            raise ValueError(f"domain_upsampling proportions must be non-negative with a positive sum: {proportions}")
        self.proportions = dict(proportions)

    def match(self, event: Event, state: State) -> bool:
        return event in (Event.FIT_START, Event.EPOCH_START)

    def switch_sample(self, state: State) -> int:
        """The global sample count at which the upsampled mixture starts (a multiple of the global batch)."""
        if state.max_duration.unit not in (TimeUnit.SAMPLE, TimeUnit.BATCH, TimeUnit.TOKEN) or (
                self.start.unit == TimeUnit.DURATION and state.max_duration.unit == TimeUnit.TOKEN):
            raise ValueError(f"domain_upsampling (start {self.start}) cannot be used with max_duration "
                             f"{state.max_duration}: give max_duration in samples (sp) or batches (ba)")
        global_batch = state.train_dataloader.batch_size * dist.get_world_size()
        start = self.start
        if start.unit == TimeUnit.DURATION:
            start = Time(int(start.value * state.max_duration.value), state.max_duration.unit)
        samples = start.value * global_batch if start.unit == TimeUnit.BATCH else start.value
        return int(samples) // global_batch * global_batch

    def apply(self, event: Event, state: State, logger: Logger) -> None:
        dataset = getattr(state.train_dataloader, "dataset", None)
        if not isinstance(dataset, StreamingTextDataset):
            raise TypeError("domain_upsampling needs a training dataloader over a StreamingTextDataset "
                            f"(got {type(dataset).__name__})")
        switch = self.switch_sample(state)
        epoch_start = int(state.timestamp.sample) - int(state.timestamp.sample_in_epoch)
        if epoch_start < switch:  # also when resuming at the very end of the last epoch before the switch
            mixture, epoch_size = dataset.base_proportions, switch - epoch_start
        else:
            mixture, epoch_size = self.proportions, dataset.base_epoch_size
        before = (dataset.proportions, dataset.epoch_size)
        dataset.set_mixture(mixture, epoch_size)
        if event == Event.FIT_START or (dataset.proportions, dataset.epoch_size) != before:
            restart_workers(state.train_dataloader)
            state.set_dataloader(state.train_dataloader, "train")
            logger.log_metrics({f"domain_upsampling/{name}": p for name, p in dataset.proportions.items()})
