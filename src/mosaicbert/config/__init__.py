"""Configuration: YAML + ``key=value`` overrides into typed dataclasses (``loading``), the ``Registry`` that checks a
YAML section's arguments against a class's signature (``registry``), the recipe's components by YAML name
(``components``: optimizers, schedulers, algorithms, callbacks, loggers) and the ``model`` section every config shares
(``model_section``). Import from the modules: this package imports nothing, so loading a config stays light."""
