"""The FAQ against the shared sample (100%) and this project's own larger eval set (≥ 95%)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from bot.faq.engine import faq_for
from bot.faq.evaluate import EvalInputError, read_cases, run_eval
from domain.policy import load_policy

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "faq" / "sample.jsonl"  # a copy of shared/faq-sample.jsonl
OWN = ROOT / "tests" / "faq" / "eval.jsonl"
BLIND = ROOT / "tests" / "faq" / "blind_dev.jsonl"  # written by someone who never saw the KB
BLIND2 = ROOT / "tests" / "faq" / "blind_dev2.jsonl"  # a second blind writer's set
BLIND3 = ROOT / "tests" / "faq" / "blind_dev3.jsonl"  # a third, larger and harder one
# Written as sellers type (slang, typos, Cantonese, mixed, requests for a person) by someone
# who never saw the knowledge base. The dev part tunes; blind4_holdout.jsonl is never opened
# by a test or by anyone tuning: its figures are reported once, at the end (README).
BLIND4 = ROOT / "tests" / "faq" / "blind4_dev.jsonl"
TODAY = date(2026, 11, 21)


def accuracy(path: Path) -> tuple[float, str]:
    out = io.StringIO()
    outcomes = run_eval(faq_for(load_policy()), path, out, TODAY)
    return sum(o.hit for o in outcomes) / len(outcomes), out.getvalue()


def test_the_shared_sample_is_answered_entirely() -> None:
    share, report = accuracy(SAMPLE)

    assert share == 1.0, report


def test_the_own_eval_set_is_large_mixed_and_at_least_95_percent_right() -> None:
    cases = read_cases(OWN)
    share, report = accuracy(OWN)

    assert len(cases) >= 150
    assert sum(c.handoff for c in cases) >= 25
    assert {c.lang for c in cases} == {"en", "zh-hans", "zh-hant"}
    assert share >= 0.95, report


@pytest.mark.parametrize("path", [BLIND, BLIND2], ids=["blind_dev", "blind_dev2"])
def test_the_blind_dev_sets_are_at_least_95_percent_right(path: Path) -> None:
    cases = read_cases(path)
    share, report = accuracy(path)

    assert len(cases) >= 130 and sum(c.handoff for c in cases) >= 20
    assert share >= 0.95, report


def test_the_third_blind_dev_set_is_at_least_93_percent_right() -> None:
    cases = read_cases(BLIND3)
    share, report = accuracy(BLIND3)

    assert len(cases) >= 200 and sum(c.handoff for c in cases) >= 20
    assert share >= 0.93, report


def figures(path: Path) -> tuple[list[object], str]:
    out = io.StringIO()
    outcomes = run_eval(faq_for(load_policy()), path, out, TODAY)
    return list(outcomes), out.getvalue()


def test_the_seller_typed_dev_set_meets_the_issue_targets() -> None:
    cases = read_cases(BLIND4)
    outcomes, report = figures(BLIND4)

    hits = sum(o.hit for o in outcomes)  # type: ignore[attr-defined]
    wrong = sum(o.wrong_confident for o in outcomes)  # type: ignore[attr-defined]
    handoffs = [o for o in outcomes if o.case.handoff]  # type: ignore[attr-defined]
    assert len(cases) >= 200 and sum(c.human for c in cases) >= 10
    assert hits / len(cases) >= 0.95, report
    assert wrong / len(cases) <= 0.02, report
    assert all(o.reply.entry is None for o in handoffs), report  # type: ignore[attr-defined]
    assert all(o.hit for o in outcomes if o.case.human), report  # type: ignore[attr-defined]


def test_the_report_gives_accuracy_wrong_confident_and_handoff_recall_apart(
        tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in [
        {"lang": "en", "q": "How long does a withdrawal take?", "all": ["3–5"]},
        {"lang": "en", "q": "How long does a withdrawal take?", "all": ["809.01"]},
        {"lang": "en", "q": "tell me a joke", "handoff": True},
        {"lang": "zh-hans", "q": "转人工", "handoff": True, "human": True},
        {"lang": "en", "q": "deposit zebra quantum", "all": ["x"]},
    ]), encoding="utf-8")

    _, report = figures(path)

    assert report.splitlines()[:4] == [
        "top-1 accuracy: 3/5 = 60.0%",
        "wrong-confident: 1/5 = 20.0% (answered, but wrong)",
        "handoff recall: 2/2 = 100.0% (off-topic and requests for a person: not answered)",
        "person recall: 1/1 = 100.0% (requests for a person recognised as such)"]


def test_a_request_for_a_person_counts_only_when_recognised_as_one(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(json.dumps({"q": "tell me a joke", "handoff": True, "human": True}),
                    encoding="utf-8")

    outcomes, report = figures(path)

    assert not outcomes[0].hit  # type: ignore[attr-defined]
    assert "expected: a person (explicit request)" in report


def test_a_wrong_answer_and_a_wrong_decline_are_both_misses(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in [
        {"lang": "en", "q": "How long does a withdrawal take?", "all": ["3–5"]},
        {"lang": "en", "q": "How long does a withdrawal take?", "all": ["809.01"]},
        {"lang": "zh-hant", "q": "保證金提現會退到哪裡?", "all": ["对公"]},
        {"lang": "en", "q": "How long does a withdrawal take?", "handoff": True},
        {"lang": "en", "q": "tell me a joke", "handoff": True},
    ]), encoding="utf-8")

    share, report = accuracy(path)

    assert share == pytest.approx(3 / 5)
    assert report.startswith("top-1 accuracy: 3/5 = 60.0%")
    assert report.count("MISS") == 2
    assert "expected: all ['809.01']" in report
    assert "expected: not sure → human" in report


def test_an_unreadable_line_is_reported_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"q": "fine"}\n{not json\n', encoding="utf-8")

    with pytest.raises(EvalInputError, match="line 2"):
        read_cases(path)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "faq-eval", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_the_cli_prints_accuracy_and_exits_zero() -> None:
    done = run_cli(str(OWN))

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("top-1 accuracy: ")


def test_the_cli_exits_non_zero_for_a_missing_file(tmp_path: Path) -> None:
    done = run_cli(str(tmp_path / "missing.jsonl"))

    assert done.returncode == 2
    assert "cannot read" in done.stderr
