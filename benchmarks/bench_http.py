"""HTTP layer micro benchmark: CPU per request of HttpClient POSTs from several threads.

    python benchmarks/bench_http.py [--requests 2000] [--threads 4] [--json]

The server is the scripted loopback app of the HTTP-layer tests (every POST answers a small JSON object), in a
child process, so ``time.process_time`` here is the client's alone: building the request, pacing, retrying
machinery, the transport, reading and parsing the answer. Nothing else of the bridge runs, so this isolates
what a change to bridge/http.py (or its transport) costs or saves per request.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import harness

from bridge.http import HttpClient, HttpSettings, RequestStats

SERVER = """
import sys, time
sys.path.insert(0, {root!r})
from adapters.simulation import LoopbackServer
from tests.foundation.loopback import Script, build_app
server = LoopbackServer(build_app(Script())).start()
print(server.url, flush=True)
sys.stdin.read()
"""


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    out = harness.Output(args.json)
    code = SERVER.format(root=str(harness.ROOT))
    server = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        with HttpClient("bench", HttpSettings(base_url=url), stats=RequestStats()) as http:
            for i in range(20):  # warm: connections open, code paths imported
                http.json(http.post(f"/warm/{i}", json={"i": i}), dict)
            per_thread = args.requests // args.threads

            def worker(t: int) -> None:
                for i in range(per_thread):
                    http.json(http.post(f"/api/model/cases/create/{t}", json={"data": {"name": f"case {i}"}}), dict)

            threads = [threading.Thread(target=worker, args=(t,)) for t in range(args.threads)]
            cpu, wall, times = time.process_time(), time.perf_counter(), os.times()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            user, system = os.times().user - times.user, os.times().system - times.system
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(10)
    n = per_thread * args.threads
    figures = {"requests": n, "threads": args.threads, "cpu_ms_per_request": round(cpu / n * 1000, 4)}
    # the kernel's share (sockets, waking threads) is what no Python change can save
    figures["user_ms_per_request"] = round(user / n * 1000, 4)
    figures["system_ms_per_request"] = round(system / n * 1000, 4)
    figures["wall_s"] = round(wall, 3)
    out.line(f"{n} POSTs from {args.threads} threads: {figures['cpu_ms_per_request']} ms CPU each, {wall:.2f} s")
    out.emit("bench_http", figures)


if __name__ == "__main__":
    main()
