"""Fine-tuning: a classification or regression task with Composer's Trainer; GLUE is one task set of it.

Reads one way: ``config`` (typed, validated) -> ``glue_plan`` (``GlueJob`` per task and seed) -> ``job_queue``
and ``run`` (one fine-tuning run per job) -> ``glue_summary`` (typed, both GLUE averages). Entry points:
``glue.py`` (``glue_sweep.run_glue``) and ``sequence_classification.py`` (``custom_task.run_custom_task``),
through ``cli``. Import-light: Composer loads only where a config is loaded or a run starts.
"""
