"""`deposit-bot faq-eval FILE`: how the FAQ does on a JSONL file of questions.

Each line: {"lang": "en|zh-hans|zh-hant", "q": question, "all": [substrings the answer
must all contain], "any": ["a|b|c", …: one alternative of each must appear],
"handoff": true when the right result is "not sure → a human", "human": true (with
handoff) when the message asks for a person, which must be recognised as such}.
Substrings are compared case-insensitively and with traditional characters folded to
simplified ones. The report gives three figures separately: top-1 accuracy, the
wrong-confident rate (answered, but wrong: worse than "not sure") and handoff recall.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from bot.faq.engine import Faq, Reply, faq_for
from bot.faq.ranker import normalise
from bot.i18n import resolve_language
from domain.policy import Policy


class EvalInputError(ValueError):
    """The eval file cannot be read or a line is not a question."""


@dataclass(frozen=True)
class Case:
    lang: str
    question: str
    all: tuple[str, ...]
    any: tuple[str, ...]
    handoff: bool
    human: bool = False

    def expected(self) -> str:
        if self.human:
            return "a person (explicit request)"
        if self.handoff:
            return "not sure → human"
        parts = [f"all {list(self.all)}"] if self.all else []
        parts += [f"any {list(self.any)}"] if self.any else []
        return ", ".join(parts) or "any answer"


@dataclass(frozen=True)
class Outcome:
    case: Case
    reply: Reply
    shown: str
    hit: bool

    @property
    def wrong_confident(self) -> bool:
        """Answered, but not with what the case expects."""
        return self.reply.entry is not None and not self.hit


def read_cases(path: Path) -> list[Case]:
    """Every question of a JSONL file (blank lines skipped)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalInputError(f"cannot read {path}: {exc}") from exc
    cases = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            cases.append(_case(line, number))
    return cases


def _case(line: str, number: int) -> Case:
    try:
        raw: Any = json.loads(line)
        if not isinstance(raw, dict) or not isinstance(raw.get("q"), str):
            raise ValueError("needs an object with a string \"q\"")
        human = bool(raw.get("human", False))
        return Case(str(raw.get("lang", "en")), raw["q"], tuple(map(str, raw.get("all", ()))),
                    tuple(map(str, raw.get("any", ()))), bool(raw.get("handoff", human)), human)
    except (ValueError, TypeError) as exc:
        raise EvalInputError(f"line {number}: {exc}") from exc


def contains(text: str, case: Case) -> bool:
    """Whether an answer holds every `all` substring and one alternative of each `any`."""
    folded = normalise(text)
    return (all(normalise(s) in folded for s in case.all)
            and all(any(normalise(a) in folded for a in alts.split("|")) for alts in case.any))


def judge(faq: Faq, case: Case, today: date) -> Outcome:
    """Ask one question and compare the top answer with what the case expects."""
    reply = faq.ask(case.question)
    if reply.entry is None:
        shown = "a person" if reply.human else f"not sure → human ({reply.reason})"
        return Outcome(case, reply, shown, case.handoff and (reply.human or not case.human))
    language = resolve_language(case.lang)
    text = faq.title(reply.entry, language) + "\n" + faq.answer(reply.entry, language, today)
    hit = not case.handoff and contains(text, case)
    return Outcome(case, reply, f"{reply.entry.id}: {text}", hit)


def run_eval(faq: Faq, path: Path, out: TextIO, today: date) -> list[Outcome]:
    """Print the three figures and every miss; return the outcomes."""
    outcomes = [judge(faq, case, today) for case in read_cases(path)]
    out.write(summary(outcomes))
    for o in outcomes:
        if not o.hit:
            out.write(f"\nMISS [{o.case.lang}] {o.case.question}\n"
                      f"  expected: {o.case.expected()}\n"
                      f"  answered (confidence {o.reply.confidence:.2f}): "
                      f"{o.shown.replace(chr(10), ' / ')[:300]}\n")
    return outcomes


def _ratio(label: str, part: int, whole: int, note: str = "") -> str:
    share = 100 * part / whole if whole else 100.0
    return f"{label}: {part}/{whole} = {share:.1f}%{note}\n"


def summary(outcomes: list[Outcome]) -> str:
    """Top-1 accuracy, wrong-confident rate and handoff recall (explicit requests apart)."""
    total = len(outcomes)
    handoffs = [o for o in outcomes if o.case.handoff]
    humans = [o for o in outcomes if o.case.human]
    return (_ratio("top-1 accuracy", sum(o.hit for o in outcomes), total)
            + _ratio("wrong-confident", sum(o.wrong_confident for o in outcomes), total,
                     " (answered, but wrong)")
            + _ratio("handoff recall", sum(o.reply.entry is None for o in handoffs),
                     len(handoffs), " (off-topic and requests for a person: not answered)")
            + _ratio("person recall", sum(o.hit for o in humans), len(humans),
                     " (requests for a person recognised as such)"))


def main(path: Path, policy: Policy, today: date | None = None) -> int:
    """The faq-eval command: 0 after printing the report, 2 when the file cannot be read."""
    try:
        run_eval(faq_for(policy), path, sys.stdout, today or date.today())
    except EvalInputError as exc:
        print(f"faq-eval: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `faq-eval FILE | head -1` stopped reading: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
