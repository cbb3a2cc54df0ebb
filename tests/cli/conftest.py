"""The CLI tests reuse the end-to-end tests' world (simulators on loopback and a config pointing at them)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
