"""Tag schemes (IOB1, IOB2, BIOES) for seqeval's strict scoring and for the labels of continuation sub-words.

A scheme is read from the data when the config names none: E-/S- prefixes mean BIOES; an I-X that opens an
entity (first word, after O or after another type) means IOB1 (CoNLL-2003's original tags); otherwise IOB2.
"""

from __future__ import annotations

from collections.abc import Iterable

from seqeval.scheme import IOB1, IOB2, IOBES

SCHEMES = {"IOB1": IOB1, "IOB2": IOB2, "BIOES": IOBES}
OUTSIDE = "O"


def split_tag(tag: str) -> tuple[str, str]:
    """``("B", "PER")`` of ``B-PER``; ``("O", "")`` of ``O``; a tag without a prefix is its own type, inside."""
    if tag == OUTSIDE:
        return OUTSIDE, ""
    prefix, sep, kind = tag.partition("-")
    return (prefix, kind) if sep and len(prefix) == 1 else ("I", tag)


def detect_scheme(sequences: Iterable[Iterable[str]]) -> str:
    """The scheme the tag sequences are written in (see the module docstring)."""
    opens_with_inside = False
    for tags in sequences:
        previous = (OUTSIDE, "")
        for tag in tags:
            prefix, kind = split_tag(tag)
            if prefix in ("E", "S"):
                return "BIOES"
            if prefix == "I" and (previous[0] == OUTSIDE or previous[1] != kind):
                opens_with_inside = True
            previous = (prefix, kind)
    return "IOB1" if opens_with_inside else "IOB2"


def continuation_tag(tag: str, scheme: str) -> str:
    """The tag of a word's later sub-words when every sub-word is labelled (``label_all_tokens``): inside the
    word's entity, so ``B-X`` (and BIOES's ``S-X``/``E-X``) continue as ``I-X``, as transformers' run_ner.py."""
    prefix, kind = split_tag(tag)
    if prefix == OUTSIDE or scheme == "IOB1":
        return tag
    return f"I-{kind}"
