"""GLUE and your own classification data: task registry, data loading, job queue, fine-tuning, summary.

Entry points: ``glue.py`` (``mosaicbert.glue.sweep.run_glue``) and ``sequence_classification.py``
(``mosaicbert.glue.own_data.run_own_task``). Kept import-light: Composer loads only where fine-tuning runs.
"""
