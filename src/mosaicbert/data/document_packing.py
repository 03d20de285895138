"""Packing whole documents into rows of at most N tokens, keeping where each document starts and ends.

Each document becomes one or more pieces ``[CLS] ... [SEP]`` of at most N tokens (a long document is split,
every piece with its own special tokens); pieces are placed first-fit into a bounded set of open rows, so a
row holds several complete documents and no document straddles two rows. A row is stored with the lengths of
its documents (``mds_columns.DOCUMENT_LENGTHS``), which the dataset turns into per-token document ids: the
network then attends within each document only.
"""

from __future__ import annotations

import numpy as np

OPEN_ROWS = 16  # rows kept open for first-fit; the oldest is emitted when a piece fits none of them


def special_tokens(tokenizer) -> tuple[np.ndarray, np.ndarray]:
    """The ids the tokenizer puts before and after a sequence (``[CLS]`` and ``[SEP]`` for BERT)."""
    marker = -1
    wrapped = tokenizer.build_inputs_with_special_tokens([marker])
    at = wrapped.index(marker)
    return np.asarray(wrapped[:at], dtype=np.int64), np.asarray(wrapped[at + 1:], dtype=np.int64)


class DocumentPacker:
    """Turns documents' token ids (without special tokens) into packed rows ``(token ids, document lengths)``."""

    def __init__(self, tokenizer, length: int, option: str = "--pack_documents"):
        self.prefix, self.suffix = special_tokens(tokenizer)
        self.length = length
        self.body = length - len(self.prefix) - len(self.suffix)
        if self.body < 1:
            raise ValueError(f"{option} {length} leaves no room besides the special tokens")
        self.rows: list[list[np.ndarray]] = []
        self.filled: list[int] = []

    def _pieces(self, ids: np.ndarray) -> list[np.ndarray]:
        return [np.concatenate([self.prefix, ids[start:start + self.body], self.suffix])
                for start in range(0, max(len(ids), 1), self.body)]

    def _emit(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        pieces = self.rows.pop(index)
        self.filled.pop(index)
        return np.concatenate(pieces), np.asarray([len(piece) for piece in pieces], dtype=np.uint32)

    def add(self, documents: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Place the documents' pieces; return the rows that are now complete (full or pushed out)."""
        done = []
        for ids in documents:
            for piece in self._pieces(ids):
                row = next((i for i, used in enumerate(self.filled) if used + len(piece) <= self.length), None)
                if row is None:
                    if len(self.rows) == OPEN_ROWS:
                        done.append(self._emit(0))
                    self.rows.append([])
                    self.filled.append(0)
                    row = len(self.rows) - 1
                self.rows[row].append(piece)
                self.filled[row] += len(piece)
                if self.filled[row] == self.length:
                    done.append(self._emit(row))
        return done

    def finish(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The rows still open, in the order they were opened."""
        return [self._emit(0) for _ in range(len(self.rows))]
