"""Plot a run's training/eval MLM loss and masking rate from its TensorBoard logs.

    python scripts/plot_losses.py runs/mosaic-bert-tiny/tensorboard docs/tiny-run-loss.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

CURVES = {"loss/train/total": "train loss (masking rate of the batch)",
          "metrics/eval/LanguageCrossEntropy": "eval loss (15% masking)"}


def read_scalars(log_dir: Path, tag: str) -> dict[int, float]:
    """``step -> value`` over all event files under ``log_dir`` (later files win, as after a resume)."""
    values: dict[int, float] = {}
    for file in sorted(log_dir.rglob("events.out.tfevents.*"), key=lambda p: p.stat().st_mtime):
        events = EventAccumulator(str(file), size_guidance={"scalars": 0})
        events.Reload()
        if tag in events.Tags()["scalars"]:
            values.update({e.step: e.value for e in events.Scalars(tag)})
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log_dir", type=Path, help="the run's TensorBoard log directory")
    parser.add_argument("out", type=Path, help="PNG to write")
    args = parser.parse_args()
    fig, loss_axis = plt.subplots(figsize=(7, 4))
    for tag, label in CURVES.items():
        values = read_scalars(args.log_dir, tag)
        loss_axis.plot(list(values), list(values.values()), marker="o" if "eval" in tag else None, label=label)
        print(label, {step: round(value, 3) for step, value in sorted(values.items())})
    loss_axis.set_xlabel("batch")
    loss_axis.set_ylabel("MLM cross-entropy")
    rate = read_scalars(args.log_dir, "masking/rate")
    rate_axis = loss_axis.twinx()
    rate_axis.plot(list(rate), list(rate.values()), color="grey", linestyle="--", label="masking rate")
    rate_axis.set_ylabel("masking rate")
    handles = loss_axis.get_legend_handles_labels()[0] + rate_axis.get_legend_handles_labels()[0]
    loss_axis.legend(handles, [h.get_label() for h in handles], loc="upper right")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=120)


if __name__ == "__main__":
    main()
