"""Data pipeline: corpora -> MDS shards -> streaming datasets -> masked MLM batches."""
