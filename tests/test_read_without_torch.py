"""Reading must work with the run-time install alone (`make demo` installs no torch)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Importing torch fails inside this child, as it would where torch is not installed.
NO_TORCH = "import sys; sys.modules['torch'] = None; from htr.cli import main; sys.exit(main(sys.argv[1:]))"


def test_cli_reads_the_bundled_sample_without_torch():
    result = subprocess.run([sys.executable, "-c", NO_TORCH, "read", "htr/samples/sample.png"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    from htr.metrics import cer
    # The sample says "The quick brown fox reads my notes" (htr/samples/README.md).
    assert cer(["The quick brown fox reads my notes"], [result.stdout.strip()]) < 0.2, result.stdout
