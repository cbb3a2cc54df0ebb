"""Summarise a CPU profile a benchmark wrote with ``--profile DIR``: where the bridge's CPU goes.

    python benchmarks/profile_top.py DIR/migration.txt [--top 10]

The file holds collapsed stacks weighted by CPU microseconds (benchmarks/cpu_sampler.py). Three tables, in
percent of the profile's CPU:

- areas: each stack's CPU goes to the innermost frame that belongs to a known area (the store, the HTTP stack,
  the HTML parser, pydantic, ...; C code is inside the Python frame that called it), so the areas add up to
  100 %;
- inclusive: functions of the bridge (bridge/, adapters/, mappings/) by the CPU of the stacks they are on
  (what cutting that call would save at most);
- self: the functions the CPU was spent in (the innermost Python frame), any module.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

#: (area, substrings of a frame's "name (file:line)"): the first that matches names the frame's area
AREAS = (
    ("store: SQLAlchemy + sqlite3", ("sqlalchemy/", "sqlite3/", "(mappings/store")),
    (
        "HTTP: httpx, httpcore, h11, sockets",
        ("httpx/", "httpcore/", "h11/", "(socket.py", "(ssl.py", "(bridge/http.py"),
    ),
    ("HTML parsing: BeautifulSoup, html.parser", ("bs4/", "(html/", "soupsieve/")),
    ("markdown", ("markdown_it/", "mdurl/", "markdown/")),
    ("pydantic", ("pydantic/", "pydantic_core/")),
    ("JSON", ("(json/",)),
    ("hashing: content_hash", ("content_hash (bridge/text.py", "(hashlib.py")),
    ("logging", ("(logging/",)),
    ("tenacity (retries)", ("tenacity/",)),
    ("threads and queues", ("(threading.py", "concurrent/futures/", "(queue.py")),
    ("bridge: text conversion", ("(bridge/text.py", "richtext.py", "/convert.py")),
    ("bridge: sync engine", ("(bridge/sync/",)),
    ("bridge: adapters", ("(adapters/",)),
    ("bridge: other", ("(bridge/", "(mappings/")),
)
OURS = ("(bridge/", "(adapters/", "(mappings/")
OTHER = "other (interpreter, standard library)"


def stacks(path: Path) -> Iterator[tuple[list[str], float]]:
    """(frames from the outermost in, CPU microseconds) per line."""
    for text in path.read_text().splitlines():
        stack, _, weight = text.rpartition(" ")
        if stack and weight.isdigit():
            yield stack.split(";"), float(weight)


def area_of(frame: str) -> str | None:
    return next((area for area, needles in AREAS if any(n in frame for n in needles)), None)


Weights = dict[str, float]


def summarise(path: Path) -> tuple[float, Weights, Weights, Weights]:
    total = 0.0
    areas: Weights = defaultdict(float)
    inclusive: Weights = defaultdict(float)
    own: Weights = defaultdict(float)
    for frames, us in stacks(path):
        total += us
        areas[next((a for f in reversed(frames) if (a := area_of(f))), OTHER)] += us
        for frame in set(frames):
            if any(o in frame for o in OURS):
                inclusive[frame] += us
        own[frames[-1]] += us
    return total, areas, inclusive, own


def table(title: str, weights: Weights, total: float, top: int) -> list[str]:
    heaviest = sorted(weights.items(), key=lambda item: -item[1])[:top]
    return [title] + [f"  {100 * w / total:5.1f} %  {name}" for name, w in heaviest]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    total, areas, inclusive, own = summarise(args.file)
    if not total:
        raise SystemExit(f"{args.file}: empty profile")
    print(f"{args.file}: {total / 1e6:.2f} CPU seconds sampled")
    print("\n".join(table("areas (adds up to 100 %)", areas, total, len(AREAS) + 1)))
    print("\n".join(table(f"top {args.top} of the bridge's functions, inclusive", inclusive, total, args.top)))
    print("\n".join(table(f"top {args.top} functions, self", own, total, args.top)))


if __name__ == "__main__":
    main()
