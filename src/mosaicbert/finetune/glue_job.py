"""One GLUE job (a task and a seed) from the plan to the worker, and its outcome, saved atomically so a re-run
skips finished jobs."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mosaicbert.atomic_write import write_text_atomically
from mosaicbert.finetune.config import Hyperparameters


def job_name(task: str, seed: int) -> str:
    return f"{task}-seed{seed}"


@dataclass(frozen=True)
class GlueJob:
    """Fine-tune one task with one seed.

    Planned: ``after`` names the MNLI job it waits for and starts from; ``keeps_checkpoint`` marks a job others
    start from. Set when it is dispatched: ``start_from`` (the MNLI checkpoint, or None for ``model.init_from``)
    and the ``note`` the summary shows.
    """

    task: str
    seed: int
    hyperparameters: Hyperparameters = field(hash=False)
    after: str | None = None
    keeps_checkpoint: bool = False
    start_from: str | None = None
    note: str = ""

    @property
    def name(self) -> str:
        return job_name(self.task, self.seed)


@dataclass
class JobResult:
    """Metrics (fractions, e.g. accuracy 0.83) of one task and seed, or the one-line error that stopped it."""

    task: str
    seed: int
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def name(self) -> str:
        return job_name(self.task, self.seed)

    def save(self, path: Path) -> None:
        """Write as JSON via a temporary file and rename, so a crash never leaves half a result."""
        write_text_atomically(path, json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> JobResult | None:
        """A previously saved successful result, or None if absent, unreadable or failed."""
        try:
            result = cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None
        return result if result.ok else None
