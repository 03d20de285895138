"""Held-out MLM evaluation shared by ``evaluate_mlm.py`` and the quality study: ``heldout_mlm`` (fixed samples and
masks on any number of ranks), ``mlm_model`` (any checkpoint of this recipe), ``by_length`` (the command's table)."""
