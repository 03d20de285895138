"""Fine-tune a pretrained checkpoint on the eight GLUE tasks and summarise.

    python glue.py yamls/finetuning/glue/mosaic-bert-base.yaml model.init_from=CHECKPOINT [key=value ...]
"""

import sys

from mosaicbert.finetune.cli import glue_main

if __name__ == "__main__":
    sys.exit(glue_main(sys.argv[1:]))
