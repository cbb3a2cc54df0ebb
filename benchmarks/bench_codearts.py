"""Read N cases from the CodeArts simulator through the adapter: requests, seconds and peak memory.

python benchmarks/bench_codearts.py --cases 2000
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

from adapters.codearts.settings import CodeArtsSettings
from adapters.codearts.simulator import CodeArtsSimulator
from adapters.registry import create_adapter
from bridge.http import counting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1000)
    args = parser.parse_args()
    sim = CodeArtsSimulator(seed=1, cases=args.cases, plans=1)
    with sim.serve() as server:
        adapter = create_adapter("bench", CodeArtsSettings(url=server.url, **sim.credentials()))
        adapter.connect()
        tracemalloc.start()
        with counting() as delta:
            started = time.perf_counter()
            n = sum(1 for _ in adapter.iter_cases())
            seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        adapter.close()
    requests = sum(delta().values())
    print(
        f"codearts: read {n} cases with {requests} requests in {seconds:.2f} s "
        f"({n / seconds:.0f} cases/s), peak memory {peak / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
