"""The review pages' tests reuse the end-to-end world (simulators on loopback, a real SQLite store)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
