"""Numbers as people read them, shared by ``optsearch show`` and the replay's report."""

from __future__ import annotations

import math


def fixed(x, digits: int = 4) -> str:
    """``digits`` decimals; a value too small to show there keeps two significant digits
    (``-4.3e-05``, never ``-0.0000``); a negative zero prints as ``0.0000``; None as ``-``."""
    if x is None:
        return "-"
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if x != 0 and abs(x) < 0.5 * 10.0 ** -digits:
        return f"{x:.2g}"
    return f"{x + 0.0:.{digits}f}"  # + 0.0 turns -0.0 into 0.0
