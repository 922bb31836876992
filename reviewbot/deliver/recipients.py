"""The Cc allow-list: addresses a reply may copy besides the author and the configured lists,
read from plain addresses or MAINTAINERS-style files (`M:`, `R:` and `L:` lines)."""
from __future__ import annotations

from pathlib import Path

from reviewbot.errors import ReviewbotError
from reviewbot.mail import normalise_addr, parse_addresses

_ROLES = ("M:", "R:", "L:")


def load_allow_list(values: list[str], where: str, base: Path | None = None) -> list[str]:
    """Each value is an address, or the path of a MAINTAINERS-style file (relative to
    `base`); the result is the normalised addresses, in order, without repeats."""
    out: dict[str, None] = {}
    for v in values:
        if not isinstance(v, str):
            raise ReviewbotError(where, f"must be addresses or file names, not {v!r}")
        if "@" in v and "/" not in v:
            found = parse_addresses(v)
            if not found:
                raise ReviewbotError(where, f"not an address: {v!r}")
            out.update((normalise_addr(a), None) for _, a in found)
            continue
        path = (base / v) if base and not Path(v).is_absolute() else Path(v)
        try:
            text = path.read_text(errors="replace")
        except OSError as e:
            raise ReviewbotError(f"{where}: {path}", e.strerror or str(e))
        lines = text.splitlines()
        tagged = [l[2:] for l in lines if l.startswith(_ROLES)]
        # a MAINTAINERS file: only its people and lists; otherwise one address per line
        for line in tagged if tagged else [l for l in lines if not l.startswith("#")]:
            out.update((normalise_addr(a), None) for _, a in parse_addresses(line))
    return list(out)
