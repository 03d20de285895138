"""The exit codes of every entry point (main.py, glue.py, sequence_classification.py, token_classification.py,
question_answering.py, convert_dataset.py,
sentence_embeddings.py, evaluate_embeddings.py, train_tokenizer.py).

- ``0`` success.
- ``1`` the run failed: bad data contents (a malformed line of a data file), weights that do not fit the
  model, a NaN/inf loss, failed GLUE jobs, or any unexpected error (with its traceback).
- ``2`` the command cannot start: bad usage, a bad config key or value, an input or output location that
  does not exist or is in the way. Nothing heavy has run yet: fix the command line or YAML and re-run.
- ``130`` interrupted (Ctrl-C).

Errors that explain themselves carry their code as the class attribute ``exit_code`` and are reported as one
line ``<program>: error: <message>`` without a traceback. This module imports nothing from the package, so
every part can use it.
"""

from __future__ import annotations

import sys
from typing import Callable, Optional

OK = 0
FAILED = 1
USAGE = 2
INTERRUPTED = 130

# Built-in exceptions that name their culprit in one line: a file or directory named on the command line.
BUILTIN_EXIT_CODES: dict[type[BaseException], int] = {FileNotFoundError: USAGE}


def exit_code_of(err: BaseException) -> Optional[int]:
    """The documented code of an error that explains itself, or None (an unexpected error)."""
    code = getattr(type(err), "exit_code", None)
    if code is not None:
        return code
    return next((c for cls, c in BUILTIN_EXIT_CODES.items() if isinstance(err, cls)), None)


def run_entry_point(prog: str, main: Callable[[], Optional[int]]) -> int:
    """Run ``main`` and turn its outcome into the exit code; self-explaining errors become one stderr line."""
    try:
        code = main()
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except SystemExit as done:  # Composer's Trainer turns SIGINT into sys.exit(128 + SIGINT) = 130
        if done.code != INTERRUPTED:
            raise
        print(f"{prog}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as err:  # noqa: BLE001 - classified below, unexpected errors re-raised
        code = exit_code_of(err)
        if code is None:
            raise
        print(f"{prog}: error: {err}", file=sys.stderr)
        return code
    return OK if code is None else code
