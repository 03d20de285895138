"""The quality study's outputs from its results: ``OUT.json``, ``OUT.md`` (table, per-claim comparisons) and
``OUT.png``."""

from __future__ import annotations

from pathlib import Path

from .. import reporting
from ..budget import BUDGET_TOLERANCE
from ..overrides import flatten
from ..reporting import mean_std


def _run_table(results: dict) -> list[str]:
    lengths = results["held_out_seq_lens"]
    head = ["arm", "budget", "steps", "measured s (vs budget)", "PFLOP"] + \
           [f"CE@{n}" for n in lengths] + [f"acc@{n}" for n in lengths] + ["downstream acc (mean ± std)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for run in results["runs"]:
        held = run.get("held_out", {})
        cells = [run["arm"], f"{run['budget_s']:.0f} s ({run['multiplier']:g}×)", str(run["steps"]),
                 _measured_cell(run), f"{run['pretrain']['flops'] / 1e15:.3g}"]
        cells += [f"{held[str(n)]['cross_entropy']:.3f}" if str(n) in held else "–" for n in lengths]
        cells += [f"{100 * held[str(n)]['accuracy']:.1f}%" if str(n) in held else "–" for n in lengths]
        accs = run.get("downstream", {}).get("accuracies", [])
        if accs:
            mean, std = mean_std(accs)
            cells.append(f"{100 * mean:.1f} ± {100 * std:.1f} (n={len(accs)})")
        else:
            cells.append("–")
        lines.append("| " + " | ".join(cells) + " |")
    unigram = results["unigram"]
    lines.append("| word frequencies (unigram) | – | – | – | – | "
                 + " | ".join(f"{unigram[str(n)]['cross_entropy']:.3f}" for n in lengths) + " | "
                 + " | ".join(f"{100 * unigram[str(n)]['accuracy']:.1f}%" for n in lengths)
                 + f" | {100 / len(results['study']['downstream']['outlets']):.1f} (chance) |")
    return lines


def context_lines(results: dict) -> list[str]:
    """The same masked tokens with more or less context, per run; what each arm gains from the longest window."""
    lengths = results.get("context_lengths") or []
    if not lengths:
        return []
    first, last = str(lengths[0]), str(lengths[-1])
    head = ["arm", "budget"] + [f"CE@{n}" for n in lengths] + [f"acc@{n}" for n in lengths] + \
           [f"CE@{last} − CE@{first}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for run in results["runs"]:
        scores = run.get("context")
        if scores is None:
            continue
        by, skipped = scores["by_length"], scores["skipped"]
        cells = [run["arm"], f"{run['budget_s']:.0f} s ({run['multiplier']:g}×)"]
        cells += [f"{by[str(n)]['cross_entropy']:.3f}" if str(n) in by else f"– ({skipped.get(str(n), 'not run')})"
                  for n in lengths]
        cells += [f"{100 * by[str(n)]['accuracy']:.1f}%" if str(n) in by else "–" for n in lengths]
        cells.append(f"{by[last]['cross_entropy'] - by[first]['cross_entropy']:+.3f}"
                     if first in by and last in by else "–")
        lines.append("| " + " | ".join(cells) + " |")
    unigram = results.get("context_unigram")
    if unigram:
        lines.append("| word frequencies (unigram) | – | " + " | ".join(
            [f"{unigram['cross_entropy']:.3f}"] * len(lengths) + [f"{100 * unigram['accuracy']:.1f}%"] * len(lengths))
            + " | 0 |")
    return lines


def _measured_cell(run: dict) -> str:
    """Measured pretraining seconds and their difference from the budget, flagged (⚠) past the tolerance."""
    check = run.get("budget")
    if check is None:  # results written before budgets were checked
        return f"{run['pretrain']['wall_s']:.0f}"
    return (f"{run['pretrain']['wall_s']:.0f} ({100 * (check['measured_over_budget'] - 1):+.0f}%"
            + (" ⚠)" if check["missed"] else ")"))


def budget_lines(results: dict) -> list[str]:
    """Runs whose measured time missed their budget by more than the tolerance, and the re-planned ones."""
    missed = [r for r in results["runs"] if r.get("budget", {}).get("missed")]
    replanned = [r for r in results["runs"] if r.get("replanned_from") is not None]
    lines = [f"- `{r['arm']}` {r['budget_s']:.0f} s: measured {r['pretrain']['wall_s']:.0f} s "
             f"({100 * (r['budget']['measured_over_budget'] - 1):+.0f}%)" for r in missed]
    lines += [f"- `{r['arm']}` {r['budget_s']:.0f} s re-planned from the measured speed of its "
              f"{r['replanned_from']:.0f} s run: {r['planned_steps']} -> {r['steps']} steps" for r in replanned]
    if not lines:
        return [f"Every run's measured pretraining time is within {100 * BUDGET_TOLERANCE:.0f}% of its budget."]
    return [f"Runs off their budget by more than {100 * BUDGET_TOLERANCE:.0f}% (⚠ in the table; the calibration "
            "did not predict this machine's real runs, so the budgets they name are not the time they took):",
            "", *lines]


def _by_arm_budget(results: dict) -> dict[tuple[str, float], dict]:
    return {(r["arm"], r["multiplier"]): r for r in results["runs"]}


def claim_lines(results: dict) -> list[str]:
    """For each claim whose two arms ran: per budget, the differences in downstream accuracy and held-out CE."""
    runs, lines = _by_arm_budget(results), []
    arms = {r["arm"] for r in results["runs"]}
    first = str(results["held_out_seq_lens"][0])
    for declared in results["study"]["claims"]:  # the study's YAML, next to its arms
        claim, a, b = declared["claim"], declared["arm"], declared["baseline"]
        if a not in arms or b not in arms:
            lines.append(f"- **{claim}**: not measured (arms `{a}` and `{b}` are needed; add them to `run_arms`).")
            continue
        parts, acc_wins, ce_wins, clear, n = [], 0, 0, 0, 0
        for mult in results["budget_multipliers"]:
            ra, rb = runs.get((a, mult)), runs.get((b, mult))
            if not ra or not rb or "downstream" not in ra or "downstream" not in rb:
                continue
            n += 1
            (ma, sa), (mb, sb) = mean_std(ra["downstream"]["accuracies"]), mean_std(rb["downstream"]["accuracies"])
            ce_a, ce_b = ra["held_out"][first]["cross_entropy"], rb["held_out"][first]["cross_entropy"]
            acc_wins += ma > mb
            ce_wins += ce_a < ce_b
            clear += abs(ma - mb) > max(sa, sb)
            parts.append(f"{mult:g}×: acc {100 * (ma - mb):+.1f} pt (spread ±{100 * max(sa, sb):.1f}), "
                         f"CE@{first} {ce_a - ce_b:+.3f}")
        if n:
            lines.append(f"- **{claim}** (`{a}` − `{b}`): downstream better at {acc_wins}/{n} budgets "
                         f"({clear}/{n} beyond the seed spread), held-out CE lower at {ce_wins}/{n}. "
                         + "; ".join(parts) + ".")
    context, largest = results.get("context_lengths") or [], results["budget_multipliers"][-1]
    if len(context) > 1:
        lo, hi = str(context[0]), str(context[-1])
        gains = [(arm, runs[(arm, largest)]["context"]) for arm in results["arms"]
                 if (arm, largest) in runs and "context" in runs[(arm, largest)]]
        lines.append(f"- **Context past the training length** (trained at {results['seq_len']}; the same masked "
                     f"tokens scored with {lo} and with {hi} tokens of context, CE@{hi} − CE@{lo} at the largest "
                     "budget; negative: the arm uses the longer context): " + ", ".join(
                         f"`{arm}` {c['by_length'][hi]['cross_entropy'] - c['by_length'][lo]['cross_entropy']:+.3f}"
                         if hi in c["by_length"] and lo in c["by_length"] else f"`{arm}` – ({c['skipped'].get(hi)})"
                         for arm, c in gains) + ".")
    elif len(results["held_out_seq_lens"]) > 1:
        last = str(results["held_out_seq_lens"][-1])
        lines.append(f"- **ALiBi extrapolation** (trained at {results['seq_len']}, CE@{last} − CE@{first} at the "
                     "largest budget; BERT's positions past the training length are untrained): " + ", ".join(
                         f"`{arm}` {runs[(arm, results['budget_multipliers'][-1])]['held_out'][last]['cross_entropy'] - runs[(arm, results['budget_multipliers'][-1])]['held_out'][first]['cross_entropy']:+.3f}"
                         for arm in results["arms"]
                         if (arm, results["budget_multipliers"][-1]) in runs
                         and last in runs[(arm, results["budget_multipliers"][-1])].get("held_out", {})) + ".")
    return lines


def unigram_check(results: dict) -> str:
    """Does every arm beat word frequencies on held-out CE at the smallest budget (else budgets show speed only)?"""
    first, smallest = str(results["held_out_seq_lens"][0]), min(results["budget_multipliers"])
    floor = results["unigram"][first]["cross_entropy"]
    verdicts = [f"`{r['arm']}` {r['held_out'][first]['cross_entropy']:.3f} "
                + ("beats it" if r["held_out"][first]["cross_entropy"] < floor else "**does not beat it**")
                for r in results["runs"] if r["multiplier"] == smallest and first in r.get("held_out", {})]
    return (f"Smallest budget vs the unigram CE@{first} {floor:.3f}: " + ", ".join(verdicts) + ". An arm that does "
            "not beat word frequencies has learnt no context yet: raise `base_budget_s` before reading quality.")


def markdown(results: dict) -> str:
    info, study = results["machine"], results["study"]
    hw = f"{info['gpus']}× {info['gpu']}" if info["gpu"] else f"{info['cpu']}, {info['cores']} cores (CPU only)"
    unigram = "; ".join(f"seq {n}: CE {u['cross_entropy']:.3f}, accuracy {100 * u['accuracy']:.1f}% "
                        f"({u['masked_tokens']} masked tokens)" for n, u in results["unigram"].items())
    cal = ["| arm | s/step (mean) | start-up s | per-round means |", "|---|---|---|---|"] + [
        f"| {arm} | {c['seconds_per_step']:.4f} | {c.get('startup_s', 0.0):.2f} | "
        + ", ".join(f"{x:.4f}" for x in c.get("per_round_mean", c.get("per_round_median", []))) + " |"
        for arm, c in results["calibration"].items()]
    return "\n".join([
        "# Quality study: MosaicBERT, BERT and ModernBERT at equal wall-clock",
        "",
        f"Generated by `{results['command']}` on {info['date']}. Machine: {hw}; Python {info['python']}, "
        f"torch {info['torch']}, composer {info['composer']}, transformers {info['transformers']}. "
        f"Study wall time: {results['total_wall_s'] / 60:.1f} min.",
        "",
        "Method (see `studies/quality.py` and `yamls/study/`): every arm is a recipe YAML of this repository "
        "trained by `main.py`'s machinery at one small shape (" + ", ".join(
            f"{k.split('.')[-1]}={v}" for k, v in flatten(study["pretrain"]).items() if "model_config" in k)
        + f"), sequence length {results['seq_len']}, " + (
            f"a {study['train_vocab_size']}-entry WordPiece vocabulary learnt from the training news (at this "
            "shape bert-base-uncased's 30,522-row decoder would dominate every step), "
            if study.get("train_vocab_size") else "the recipes' tokenizer, ")
        + ("every arm's MLM decoder bias starting at the training news' log word frequencies "
           "(`model.mlm_bias_init: unigram`: short budgets then measure learning from context, not learning which "
           "words are common), " if flatten(study["pretrain"]).get("model.mlm_bias_init") == "unigram" else "")
        + "the same packed real news corpus in the same order, the same "
        "seed. Budgets are equal wall-clock: an interleaved calibration (all arms trained in turns on the same "
        "batches) gives each arm's seconds per step, each budget becomes that arm's number of steps, and every "
        "budget is a separate run whose learning-rate decay ends at its own end. Measured wall time and model FLOPs "
        f"of every run are reported; a run off its budget by more than {100 * BUDGET_TOLERANCE:.0f}% is flagged and "
        "re-plans its arm's later budgets from its measured speed. Held-out MLM: House of Commons speeches "
        "(another domain), packed at each length, "
        f"masked at {int(100 * results['held_out_rate'])}% with one fixed masker (same tokens, same masked positions "
        "for every arm). Downstream: which of " + str(len(study["downstream"]["outlets"])) + " health-news outlets "
        "tweeted this (links removed), fine-tuned through `sequence_classification.py`'s code, "
        f"{len(study['downstream']['seeds'])} seeds per checkpoint; chance is "
        f"{100 / len(study['downstream']['outlets']):.0f}%.",
        "",
        f"Word-frequency (unigram) baseline on the held-out masked tokens: {unigram}.",
        "",
        unigram_check(results),
        "",
        "## Results",
        "",
        *_run_table(results),
        "",
        *budget_lines(results),
        "",
        f"![Pareto plot]({Path(results['out']).name}.png)",
        "",
        *(["## Held-out MLM by context length", "",
           "The same masked tokens of the first {documents} held-out State of the Union addresses ({tokens} tokens "
           "each, masked once at {rate}%) scored in consecutive windows of each length: only the context a token "
           "can see changes (`evaluation/context_windows.py`). Every arm trained at {seq} tokens; a negative last "
           "column means the arm uses context past its training length.".format(
               documents=study["context"]["documents"], tokens=max(results["context_lengths"]) - 2,
               rate=int(100 * study["context"]["rate"]), seq=results["seq_len"]), "",
           *context_lines(results), ""] if results.get("context_lengths") else []),
        "## Per-claim comparisons",
        "",
        "Differences are arm A − arm B at the same budget; accuracy in points (spread: the larger seed standard "
        "deviation of the two; a difference inside it is noise), CE lower is better.",
        "",
        *claim_lines(results),
        "",
        "## Calibration (seconds per training step, interleaved)",
        "",
        *cal,
        "",
    ])


def plot(results: dict):
    """Pareto plot: pretraining budget (wall-clock on the calibrated machine) vs downstream accuracy and held-out
    CE, one line per arm. The budget, not each run's measured wall time, is the x: a run's measured time also
    carries whatever else the machine did meanwhile (the table reports it beside the budget)."""
    lengths = [str(n) for n in results["held_out_seq_lens"]]
    fig, axes = reporting.subplots(1, 1 + len(lengths), figsize=(5 * (1 + len(lengths)), 4))
    for arm in results["arms"]:
        runs = sorted((r for r in results["runs"] if r["arm"] == arm and "downstream" in r),
                      key=lambda r: r["multiplier"])
        if not runs:
            continue
        wall = [r["budget_s"] / 60 for r in runs]
        stats = [mean_std(r["downstream"]["accuracies"]) for r in runs]
        axes[0].errorbar(wall, [100 * m for m, _ in stats], yerr=[100 * s for _, s in stats], marker="o",
                         capsize=3, label=arm)
        for ax, n in zip(axes[1:], lengths):
            ax.plot(wall, [r["held_out"][n]["cross_entropy"] for r in runs], marker="o", label=arm)
    axes[0].set_ylabel("downstream accuracy (%)")
    for ax, n in zip(axes[1:], lengths):
        ax.axhline(results["unigram"][n]["cross_entropy"], color="grey", linestyle=":", label="unigram")
        ax.set_ylabel(f"held-out MLM cross-entropy @ seq {n}")
    for ax in axes:
        ax.set_xlabel("pretraining budget, wall-clock (min)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return fig


def write_outputs(results: dict) -> list[Path]:
    """``OUT.json``, ``OUT.md`` and ``OUT.png`` of the quality study."""
    return reporting.write_outputs(results, render=markdown, draw=plot)
