import sys
from pathlib import Path

# the daemon tests import tests/pgserver.py (shared) and their own helpers
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
