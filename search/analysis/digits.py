"""Numbers as people read them, shared by the commands' printed output and the replay's report.

No printed number carries more than 4 significant digits unless it is an id or a count
(``tests/test_printed_digits.py`` scans the main commands' output for longer ones).
"""

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


def sig(x, digits: int = 4) -> str:
    """At most ``digits`` significant digits, in fixed notation where that reads well: a loss of
    1.17304 prints ``1.173``, a fitness of 0.0429905 ``0.0430`` (as ``fixed``), 1234.5 ``1234``
    (rounded to an integer); None as ``-``."""
    if x is None:
        return "-"
    x = float(x)
    if not math.isfinite(x) or x == 0 or abs(x) < 0.5 * 10.0 ** -digits:
        return fixed(x, digits)
    lead = math.floor(math.log10(abs(x)))  # the first significant digit's power of ten
    decimals = min(digits, max(0, digits - 1 - lead))
    text = fixed(x, decimals)
    if len(text.replace("-", "").replace(".", "").lstrip("0")) > digits and decimals > 0:
        text = fixed(x, decimals - 1)  # rounding carried into a new digit (9.9996 -> 10.000)
    return text


def signed(x, digits: int = 4) -> str:
    """``sig`` with a sign: ``+0.0042``, ``-0.0064``."""
    text = sig(x, digits)
    return text if text.startswith("-") or not text[:1].isdigit() else "+" + text
