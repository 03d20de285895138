"""What a run prints: Python logging to a file in the run folder, a quiet console, one line per evaluation.

The console shows warnings, this package's own INFO lines (a handful per run: precision, imported weights,
export) and :class:`EvalLine`'s one line per evaluation, written through ``tqdm.write`` so Composer's progress
bar stays intact. Composer's and Streaming's INFO chatter goes only to the log file, which receives everything.
``log_to_console: true`` (cluster logs) adds Composer's own per-batch metric blocks.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings

from composer.core import Callback, Event, State
from composer.loggers import Logger
from composer.utils import dist
from tqdm import tqdm

log = logging.getLogger(__name__)

PACKAGE_LOGGER = "mosaicbert"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CONSOLE_FORMAT = "%(message)s"
# Warnings about situations the recipe expects: not worth a line on the console.
EXPECTED_WARNINGS = (
    "Cannot split tensor of length",  # Composer, on a last evaluation batch smaller than the batch size
)


class _TqdmHandler(logging.StreamHandler):
    """Writes records above an open progress bar instead of through it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=self.stream)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


def _console_filter(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or record.name.startswith(PACKAGE_LOGGER)


def setup_logging(log_file: str | None = None) -> None:
    """Console: warnings and this package's INFO lines; ``log_file`` (if given): every INFO line, with times."""
    for message in EXPECTED_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_mosaicbert", False)]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(logging.INFO)
    console = _TqdmHandler(sys.stderr)
    console.setFormatter(logging.Formatter(CONSOLE_FORMAT))
    console.addFilter(_console_filter)
    handlers: list[logging.Handler] = [console]
    if log_file:
        os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
        file_handler = logging.FileHandler(log_file)
        file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handlers.append(file_handler)
    for handler in handlers:
        handler._mosaicbert = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    if log_file:
        log.info("full log: %s", log_file)


class EvalLine(Callback):
    """One concise line per evaluation: step, eval loss, masked accuracy, packing, training masking rate, samples/s.

    Packing is the eval batches' real tokens over their token slots (rank 0's batches). Samples/s counts training
    samples over training time since the previous evaluation (evaluation excluded).
    """

    def __init__(self, masker) -> None:
        self.masker = masker
        self._mark: tuple[float, int] | None = None  # (clock, training samples) at the last fit/eval end
        self._eval_seconds = 0.0
        self._eval_start = 0.0
        self._tokens = [0, 0]  # real tokens, slots of this evaluation's batches (tensors once counting starts)

    def run_event(self, event: Event, state: State, logger: Logger) -> None:
        if event == Event.FIT_START:
            self._mark, self._eval_seconds = (time.perf_counter(), int(state.timestamp.sample)), 0.0
        elif event == Event.EVAL_START:
            self._eval_start = time.perf_counter()
            self._tokens = [0, 0]
        elif event == Event.EVAL_BATCH_START:  # summed on the device: no host sync per batch
            mask = state.batch["attention_mask"]
            self._tokens = [self._tokens[0] + mask.sum(), self._tokens[1] + mask.numel()]
        elif event == Event.EVAL_END:
            self._eval_seconds += time.perf_counter() - self._eval_start
            if dist.get_global_rank() == 0:  # metrics are already reduced over ranks: one line per run
                log.info(self.describe(state))
            if self._mark is not None:
                self._mark, self._eval_seconds = (time.perf_counter(), int(state.timestamp.sample)), 0.0

    def describe(self, state: State) -> str:
        values = {}
        for metrics in state.eval_metrics.values():
            for name, metric in metrics.items():
                values[name] = float(metric.compute())
        parts = [f"step {int(state.timestamp.batch)}"]
        if "LanguageCrossEntropy" in values:
            parts.append(f"eval loss {values['LanguageCrossEntropy']:.3f}")
        if "MaskedAccuracy" in values:
            parts.append(f"masked accuracy {values['MaskedAccuracy']:.1%}")
        real, slots = (float(count) for count in self._tokens)
        if slots:
            parts.append(f"packing {real / slots:.1%}")
        if self._mark is not None or not int(state.timestamp.batch):  # not after a run that trained elsewhere
            parts.append(f"train masking rate {self.masker.rate:.0%}")
        if self._mark is not None:
            seconds = time.perf_counter() - self._mark[0] - self._eval_seconds
            samples = int(state.timestamp.sample) - self._mark[1]
            if samples > 0 and seconds > 0:
                parts.append(f"{samples / seconds:.1f} samples/s")
        return "eval: " + ", ".join(parts)
