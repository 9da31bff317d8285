"""Does a message ask for a person? Then no answer is guessed: a person answers.

An explicit request for a human ("i want to talk to a human", 我要找人工, 我要搵真人客服)
must never get "I did not understand" nor an FAQ answer. The test is on the words, not on
a score: a person noun with a request ("talk to an agent", 转人工), or a message that is
little more than the person noun itself ("human pls", "人工"). A person noun inside a
question about the deposit ("can staff withdraw money", 客服说三天到账) is not a request.
Text is folded first (full width, lowercase, Traditional → Simplified, Cantonese words).
"""

from __future__ import annotations

import re

from bot.faq.ranker import normalise

# Cantonese spellings of the words below, rewritten before the patterns run.
_CANTONESE = {"搵": "找", "揾": "找", "傾": "聊", "倾": "聊", "嚟": "来", "唔该": "请", "畀": "给",
              "俾": "给", "同": "和", "咗": "了", "冇": "没有", "係": "是", "佢": "他", "哋": "们"}

_EN_PERSON = (r"(?:a\s+)?(?:real\s+|live\s+|actual\s+)?(?:human(?:\s+being)?s?|person|people|"
              r"agent|operator|representative|rep|someone|somebody|staff\s+member|manager|"
              r"supervisor|customer\s+(?:service|support|care)|support\s+(?:team|staff|agent)|"
              r"cs\s+team|live\s+chat|real\s+one)")
_EN_ASK = (r"(?:talk|speak|chat|connect|transfer|put\s+me\s+through|escalate|pass\s+me|"
           r"get\s+me|want|need|call|reach|contact|give\s+me|is\s+there|are\s+there|"
           r"any|let\s+me|can\s+i\s+(?:have|get)|wanna)")
_EN = [
    re.compile(rf"\b{_EN_ASK}\b.{{0,30}}?\b{_EN_PERSON}\b"),
    re.compile(rf"^\W*(?:{_EN_PERSON}|agent|human)\b\W*(?:pl[sz]|please|now|asap|!)*\W*$"),
    re.compile(r"\b(?:not|no)\s+(?:a\s+)?(?:bot|robot|machine|ai)\b.{0,20}\b(?:human|person)"),
    re.compile(r"\b(?:stop|no\s+more)\b.{0,20}\b(?:bot|robot|auto(?:mated)?\s+repl)"),
    re.compile(r"\b(?:call|phone|ring)\s+me\b|\bcall\s+back\b|\b(?:make|file|raise)\s+a\s+"
               r"complaint\b|\bi\s+want\s+to\s+complain\b"),
]
_ZH_PERSON = r"(?:人工|真人|客服|工作人员|活人|人类|专员|经理|主管|小二)"
_ZH_ASK = r"(?:找|要|转|联系|聯系|叫|接|请|让|给我|换|呼叫|打|和|跟|同|有没有|有无|需要|想)"
_ZH = [
    re.compile(rf"{_ZH_ASK}.{{0,4}}{_ZH_PERSON}"),
    re.compile(r"人工(?:客服|服务|回复|处理|接待)|真人(?:客服|回复|服务|处理)|转人工"),
    re.compile(r"^\W*(?:人工|真人|客服|人工客服|真人客服)\W*(?:[呢吗啊呀啦喂]|在吗|在不在|快点|谢谢)*\W*$"),
    re.compile(r"有人(?:在)?吗|有没有人|不要(?:机器人|机械人|自动回复)|别用机器人"),
    re.compile(r"(?:打|回)(?:个)?电话(?:给|和)?我|给我(?:打|回)(?:个)?电话|我要投诉|投诉你们"),
]
# Asked about, not asked for: "can staff withdraw", 客服说… ("support said …").
_NOT_EN = re.compile(r"\b(?:staff|owner|agent|manager)s?\s+(?:can|could|may|allowed|withdraw|"
                     r"top|pay|see|access|do)\b|\b(?:my|our)\s+(?:staff|agent|employee)|"
                     r"\bdo(?:es)?\s+(?:i|it|we)\s+need\b")
_NOT_ZH = re.compile(r"客服(?:说|讲|告诉|回复说|让我)|员工(?:能|可以|可不可以|有没有权限)|"
                     r"(?:店员|员工|子账号|运营)(?:能|可以|可不可以)")


def fold(text: str) -> str:
    """Lowercase, half-width, Simplified, with the Cantonese words of requests rewritten."""
    text = normalise(text)
    for canto, mandarin in _CANTONESE.items():
        text = text.replace(canto, mandarin)
    return text


def asks_for_person(text: str) -> bool:
    """Whether the message explicitly asks to talk to a person."""
    folded = fold(text[:500])
    if _NOT_EN.search(folded) or _NOT_ZH.search(folded):
        return False
    return any(p.search(folded) for p in _EN) or any(p.search(folded) for p in _ZH)
