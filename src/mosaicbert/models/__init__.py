"""Composer side of the model. The modules, lowest first (each imports only those before it):

- ``weights`` (reading checkpoints, fitting them into a network), ``flops`` (model FLOPs of a ``FlopShape``),
  ``sharding``, ``document_mask``, ``autocast``, ``metrics``, ``output_bias``: no family, no Composer;
- ``network``: ``NetworkFamily``, what a family declares; one module per family (``mosaic_bert`` with
  ``mosaic_bert_import``, ``hf_bert``, ``modernbert``);
- ``registry``: ``MODEL_REGISTRY`` (name -> family) and the lookups over all families (``family_reading``,
  ``key_layout_of``); ``validation``: a config's model section against the registry;
- ``tasks``: the Composer wrappers (``mlm``, ``classification``); ``build``: ``build_composer_model(name, task, ...)``
  -> ``ComposerModel``; ``hf_io``: export to a Hugging Face directory.

This package's ``__init__`` imports nothing: ``import mosaicbert.models.weights`` (or ``.flops``) loads no Composer.
"""
