"""Token classification (NER, POS, chunking; ``token_classification.py``): word-tagged sentences -> sub-word windows
-> a label per word, scored per entity with seqeval; export to Hugging Face. Reads one way: config -> sentences ->
windows -> run (Composer's trainer, the entity metric) -> metrics.json and the export."""
