"""The recipe's optimizers and learning-rate schedules (registered by YAML name in ``config.components``)."""
