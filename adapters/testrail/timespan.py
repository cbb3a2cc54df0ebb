"""TestRail time spans ("1m 5s", "2h 30m") <-> seconds; shared by the adapter and the simulator.

TestRail stores estimates and result ``elapsed`` as a time span string and answers with its own normal form
(largest units first, zero parts left out). Assumption, the references being silent: a day is 24 hours and a
week 7 days; the bridge only ever writes hours, minutes and seconds, so the assumption matters only for
values users typed with ``d``/``w``.
"""

from __future__ import annotations

import re

_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhms])", re.I)


def parse_timespan(value: str | None) -> int | None:
    """Seconds of a time span; None for empty; ValueError when it is not a time span."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if not text:
        return None
    if text.isdigit():  # a bare number means seconds, as TestRail accepts it
        return int(text)
    pos = 0
    total = 0.0
    for m in _PART.finditer(text):
        if text[pos : m.start()].strip():
            raise ValueError(f"not a time span: {value!r}")
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos == 0 or text[pos:].strip():
        raise ValueError(f"not a time span: {value!r}")
    return int(round(total))


def format_timespan(seconds: int | float | None) -> str | None:
    """TestRail's normal form of a time span: ``3725`` -> ``"1h 2m 5s"``; None for None."""
    if seconds is None:
        return None
    rest = int(round(seconds))
    if rest <= 0:
        return None
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        n, rest = divmod(rest, size)
        if n:
            parts.append(f"{n}{unit}")
    return " ".join(parts)
