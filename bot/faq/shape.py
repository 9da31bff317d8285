"""Is a text shaped like a question? With a support ticket open, a question the FAQ can
answer is answered (and may be added to the ticket); anything else goes to the ticket."""

from __future__ import annotations

import re

_MARK = re.compile(r"[?？]\s*$")
_EN_START = re.compile(
    r"^\s*(what|why|how|when|where|which|who|whose|can|could|is|are|do|does|did|should|"
    r"will|would|may|must)\b", re.IGNORECASE)
_ZH = re.compile(r"吗|嗎|为什么|為什麼|怎么|怎麼|如何|什么|什麼|多少|哪|几时|幾時|是否|能否|"
                 r"可否|能不能|可不可以|呢\s*$")


def is_question(text: str) -> bool:
    """A question mark at the end, an English question word first, or a Chinese one."""
    return bool(_MARK.search(text) or _EN_START.match(text) or _ZH.search(text))
