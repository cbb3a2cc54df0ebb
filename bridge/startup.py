"""Imported by the command line before anything else of the bridge: what shortens every run's start-up.

httpx imports its own command line client (``httpx._main``: click, pygments, rich's syntax and progress
modules) when it is imported, unless that import fails, and then keeps a stub ``httpx.main`` instead. The bridge
never runs that client, and importing it was 20 ms of CPU before a CI push sent its first request. A None
entry in :data:`sys.modules` makes the import fail the documented way (ImportError); where httpx is already
imported (a test process), nothing changes.
"""

from __future__ import annotations

import sys

if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
