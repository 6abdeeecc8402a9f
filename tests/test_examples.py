"""The examples run (tiny sizes) as the scripts users run."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_custom_seq2seq_example_trains_decodes_and_exports():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "custom_seq2seq.py"), "--small"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "exact match" in proc.stdout and "exported to" in proc.stdout, proc.stdout


def test_vanishing_gradients_example_measures_and_plots(tmp_path):
    png = tmp_path / "flow.png"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "vanishing_gradients.py"), "--small",
         "--output", str(png)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("SimpleRNN", "LSTM", "GRU", "MinGRU", "clipnorm=1"):
        assert name in proc.stdout, proc.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_captioning_example_trains_captions_and_exports():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "captioning.py"), "--small"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "'exact'" in proc.stdout and "exported to" in proc.stdout, proc.stdout
