"""Parse human durations such as "90s", "1h30m" or "2d4h" into seconds."""
import re

from tinyunits import SECONDS_PER

__all__ = ["parse_duration", "format_duration"]

_PART = re.compile(r"(\d+)([smhd])")


def parse_duration(text):
    """Return the number of seconds in a compound duration like "1h30m".

    Components are an integer followed by one of s, m, h, d; they may repeat
    in any order ("30m1h" == "1h30m"). Anything else raises ValueError.
    """
    text = text.strip()
    m = _PART.match(text)
    if not m:
        raise ValueError(f"not a duration: {text!r}")
    return int(m.group(1)) * SECONDS_PER[m.group(2)]


def format_duration(seconds):
    """The inverse of parse_duration, largest units first ("1h30m")."""
    if seconds < 0:
        raise ValueError("negative duration")
    out = []
    for unit in ("d", "h", "m", "s"):
        n, seconds = divmod(seconds, SECONDS_PER[unit])
        if n:
            out.append(f"{n}{unit}")
    return "".join(out) or "0s"
