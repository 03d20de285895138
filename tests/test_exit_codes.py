"""One exit-code convention for every entry point (mosaicbert.exit_codes): 2 bad usage/config/input location,
1 bad data contents or a failed run; one line ``<program>: error: ...`` without a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

import convert_dataset
from mosaicbert import exit_codes
from mosaicbert.finetune.cli import custom_task_main, glue_main
from mosaicbert.training.cli import pretrain_cli

REPO = Path(__file__).resolve().parents[1]
TINY_PRETRAIN = REPO / "yamls" / "test" / "mosaic-bert-tiny.yaml"
TINY_GLUE = REPO / "yamls" / "test" / "glue-tiny.yaml"
TINY_OWN = REPO / "yamls" / "test" / "sequence-classification-tiny.yaml"


def one_error_line(capsys, prog: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith(f"{prog}: error: "), err
    return err


@pytest.mark.parametrize("entry, prog, argv, culprit", [
    (pretrain_cli, "main.py", [str(TINY_PRETRAIN), "optimizer.lrr=1e-3"], "optimizer.lrr"),
    (pretrain_cli, "main.py", [str(TINY_PRETRAIN), "train_loader.local=/nonexistent/news"], "train_loader.local"),
    (glue_main, "glue.py", [str(TINY_GLUE), "max_seq_lenn=64"], "max_seq_lenn"),
    (custom_task_main, "sequence_classification.py", [str(TINY_OWN), "data.train_file=/nonexistent/train.csv",
                                                    "optimizer.name=adamz"], "optimizer"),
    (convert_dataset.main, "convert_dataset.py", ["--source", "files", "--files", "/nonexistent/docs.jsonl",
                                                  "--out_root", "/tmp/never-written", "--no_progress"],
     "/nonexistent/docs.jsonl"),
])
def test_bad_config_or_input_location_exits_2(capsys, entry, prog, argv, culprit):
    assert entry(argv) == exit_codes.USAGE
    assert culprit in one_error_line(capsys, prog)


def test_bad_data_contents_exit_1(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"text": broken\n', encoding="utf-8")
    code = convert_dataset.main(["--source", "files", "--files", str(bad), "--out_root", str(tmp_path / "out"),
                                 "--no_progress"])
    assert code == exit_codes.FAILED
    assert f"{bad}:2: invalid JSON" in one_error_line(capsys, "convert_dataset.py")


def test_unexpected_errors_keep_their_traceback():
    with pytest.raises(ZeroDivisionError):
        exit_codes.run_entry_point("x", lambda: 1 / 0)
