"""TestRail's time spans as the simulated server reads and writes them, independent of the adapter's code.

What the server does (the reference notes and TestRail's own answers): a time span is a sequence of
``<number><unit>`` parts with units ``w``, ``d``, ``h``, ``m``, ``s`` in any order and case, blanks between
parts optional; a bare integer is seconds. The server keeps the total and answers with its normal form:
hours, minutes, seconds, largest first, zero parts left out (``"1m 5s"``); a zero span is empty. A day is
taken as 24 hours and a week as 7 days (the references are silent; the bridge itself only sends h/m/s).
"""

from __future__ import annotations

_SECONDS_PER = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


class NotATimespan(ValueError):
    """What the server answers ``Field :estimate is not in a valid time span format.`` for."""


def span_seconds(text: str) -> int | None:
    """The total of a time span in seconds (None for an empty one); :class:`NotATimespan` when malformed."""
    value = text.strip().lower()
    if not value:
        return None
    if value.isdigit():
        return int(value)
    total, number, seen_part = 0.0, "", False
    for ch in value + " ":
        if ch.isdigit() or (ch == "." and number and "." not in number):
            number += ch
        elif ch in _SECONDS_PER:
            if not number or number.endswith("."):
                raise NotATimespan(text)
            total += float(number) * _SECONDS_PER[ch]
            number, seen_part = "", True
        elif ch.isspace():
            if number:  # a number without its unit
                raise NotATimespan(text)
        else:
            raise NotATimespan(text)
    if not seen_part:
        raise NotATimespan(text)
    return int(total + 0.5)


def span_text(seconds: int | None) -> str | None:
    """The server's normal form of ``seconds`` (None for none or zero)."""
    if not seconds or seconds <= 0:
        return None
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return " ".join(f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n) or None
