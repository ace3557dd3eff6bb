"""Precision and recall of the rules on the labelled evaluation sets (printed with ``pytest -s``)."""

from __future__ import annotations

import pytest

from core.safety import SafetyGuard
from tests.core.safety.eval_sets import (
    BENIGN_MONEY,
    CRISIS,
    HELDOUT_BENIGN,
    HELDOUT_CRISIS,
    HELDOUT_SAFE,
    HELDOUT_SCAM,
    SAD_SAFE,
    SCAM,
)


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall


@pytest.fixture(scope="module")
def guard() -> SafetyGuard:
    return SafetyGuard()


def test_sets_are_big_enough_and_bilingual() -> None:
    assert len(SCAM) >= 40
    assert len(BENIGN_MONEY) >= 40
    assert len(CRISIS) >= 25
    assert len(SAD_SAFE) >= 25
    for texts in ([t for t, _ in SCAM], BENIGN_MONEY, CRISIS, SAD_SAFE):
        assert any(any("\uac00" <= ch <= "\ud7a3" for ch in t) for t in texts)
        assert any(t.isascii() for t in texts)


def test_scam_precision_and_recall(guard: SafetyGuard) -> None:
    missed = [t for t, role in SCAM if not guard.check_sync(t, role).blocked]  # type: ignore[arg-type]
    false_user = [t for t in BENIGN_MONEY if not guard.check_sync(t, "user").allowed]
    false_star = [t for t in BENIGN_MONEY if not guard.check_sync(t, "star").allowed]
    tp = len(SCAM) - len(missed)
    precision, recall = _prf(tp, len(false_user), len(missed))
    star_precision, _ = _prf(tp, len(false_star), len(missed))
    print(f"\nscam: recall {recall:.3f} precision {precision:.3f} (benign as star: {star_precision:.3f})")
    print(f"missed: {missed}\nfalse alarms (user): {false_user}\nfalse alarms (star): {false_star}")
    assert recall >= 0.9, missed
    assert precision >= 0.9, false_user
    assert star_precision >= 0.9, false_star


def test_crisis_precision_and_recall(guard: SafetyGuard) -> None:
    missed = [t for t in CRISIS if not guard.check_sync(t).crisis]
    false = [t for t in SAD_SAFE if guard.check_sync(t).crisis]
    precision, recall = _prf(len(CRISIS) - len(missed), len(false), len(missed))
    print(f"\ncrisis: recall {recall:.3f} precision {precision:.3f}\nmissed: {missed}\nfalse alarms: {false}")
    assert recall >= 0.95, missed
    assert precision >= 0.9, false


def test_sad_but_safe_messages_are_not_blocked_either(guard: SafetyGuard) -> None:
    assert [t for t in SAD_SAFE if not guard.check_sync(t).allowed] == []


def test_heldout_probe(guard: SafetyGuard) -> None:
    scam_hits = sum(guard.check_sync(t, role).blocked for t, role in HELDOUT_SCAM)  # type: ignore[arg-type]
    benign_false = sum(not guard.check_sync(t, "star").allowed for t in HELDOUT_BENIGN)
    crisis_hits = sum(guard.check_sync(t).crisis for t in HELDOUT_CRISIS)
    safe_false = sum(guard.check_sync(t).crisis for t in HELDOUT_SAFE)
    print(
        f"\nheld-out: scam {scam_hits}/{len(HELDOUT_SCAM)}, "
        f"benign false {benign_false}/{len(HELDOUT_BENIGN)}, "
        f"crisis {crisis_hits}/{len(HELDOUT_CRISIS)}, safe false {safe_false}/{len(HELDOUT_SAFE)}"
    )
    assert scam_hits >= 0.9 * len(HELDOUT_SCAM)
    assert benign_false == 0
    assert crisis_hits >= 0.8 * len(HELDOUT_CRISIS)
    assert safe_false == 0
