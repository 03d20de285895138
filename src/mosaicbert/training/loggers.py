"""Logger registry: ``loggers: {tensorboard: {log_dir: ...}, wandb: {project: ...}, ...}``.

Console output and the progress bar are Trainer switches (``log_to_console``, ``progress_bar``) rather
than entries here. W&B and MLflow need their packages installed; asking for them otherwise is a config
error naming the package.
"""

from __future__ import annotations

from typing import Any

from composer.loggers import FileLogger, LoggerDestination, MLFlowLogger, TensorboardLogger, WandBLogger

from .registry import Registry

LOGGERS = Registry("logger", {
    "tensorboard": TensorboardLogger,
    "wandb": WandBLogger,
    "mlflow": MLFlowLogger,
    "file": FileLogger,
}, requires={"tensorboard": "tensorboard", "wandb": "wandb", "mlflow": "mlflow"})


def build_loggers(section: Any, key: str = "loggers") -> list[LoggerDestination]:
    """Build every logger named in ``section``."""
    return LOGGERS.build_many(section, key)
