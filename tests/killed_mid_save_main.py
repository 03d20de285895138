"""``main.py``, except that the process SIGKILLs itself halfway through writing the checkpoint file named by
``$KILL_DURING_SAVE`` (e.g. ``ep0-ba10-rank0.pt``): the first half of the real bytes is on disk, as when a node
dies mid-write.

Used by ``test_main_e2e.py``: the restart must resume from the previous, complete checkpoint.
"""

import io
import os
import signal
import sys

import composer.utils.checkpoint as composer_checkpoint
import torch

from mosaicbert.training.cli import pretrain_cli

write_checkpoint_file = composer_checkpoint._write_checkpoint_file


def write_then_die(state_dict, filename: str) -> None:
    if os.path.basename(filename) != os.environ["KILL_DURING_SAVE"]:
        return write_checkpoint_file(state_dict, filename)
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    with open(filename, "wb") as out:
        out.write(buffer.getvalue()[:buffer.tell() // 2])
        out.flush()
        os.fsync(out.fileno())
        os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    composer_checkpoint._write_checkpoint_file = write_then_die
    sys.exit(pretrain_cli())
