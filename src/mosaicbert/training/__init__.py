"""Pretraining (``main.py``): the config schema (``schema``), Trainer assembly (``pretrain``), phases, completion,
checkpoint repair, FSDP and the console. Import from the modules: ``cli`` loads nothing heavy before a config."""
