"""MosaicBERT pretraining recipe: models, data, algorithms and entry points built on Composer."""
