"""Text from mail made safe for a terminal: control characters (ESC, BEL, CR, C1 controls,
raw bytes decoded as such) are shown escaped, never sent to the reader's terminal."""
from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, and the bidi overrides that reorder text
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _esc(m: re.Match) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def escape(text: object) -> str:
    """`text` with every control character but tab and newline written as `\\xNN`."""
    return CONTROLS.sub(_esc, "" if text is None else str(text))


def one_line(text: object) -> str:
    """One line: newlines and tabs folded to spaces, other controls escaped."""
    return " ".join(escape(str(text or "").replace("\n", " ").replace("\t", " ")).split())
