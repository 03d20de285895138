"""What a check found: rows of one table (check, item, status, result) and the JSON file beside it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mosaicbert.atomic_write import write_text_atomically

PASS, FAIL, SKIP = "pass", "FAIL", "skipped"


@dataclass
class Row:
    """One line of the table; ``values`` go to the JSON file as they are."""

    check: str
    item: str
    status: str
    result: str
    values: dict = field(default_factory=dict)


class CheckFailed(Exception):
    """A check found the GPU path wrong: the message is the table's result column."""


def row(check: str, item: str, ok: bool, result: str, **values) -> Row:
    return Row(check, item, PASS if ok else FAIL, result, values)


def table(rows: list[Row]) -> str:
    """The rows as a fixed-width text table."""
    header = Row("check", "item", "status", "result")
    widths = [max(len(getattr(r, key)) for r in [header, *rows]) for key in ("check", "item", "status")]
    lines = []
    for r in [header, *rows]:
        cells = [getattr(r, key).ljust(width) for key, width in zip(("check", "item", "status"), widths)]
        lines.append("  ".join([*cells, r.result]))
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 6)
    return "\n".join(lines)


def write_json(path: Path, info: dict, rows: list[Row]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, json.dumps({**info, "rows": [asdict(r) for r in rows]}, indent=1, default=str))
