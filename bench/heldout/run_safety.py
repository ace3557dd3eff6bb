"""Score the product's safety guard on the held-out set (reporting only, never tuning).

Runs the CLI exactly as a user would:  python -m bot safety check --jsonl FILE
(each output row keeps its input fields and adds "verdict": allow|crisis|block and "reasons").

    python bench/heldout/run_safety.py [--file bench/heldout/safety.jsonl] [--latency 20] [--json]

Timing: the CLI has no per-message timer and checks a whole file in one process, so the mean
seconds per message is (time of the whole file - time of a one-line file) / N, both measured in
this run. With --latency K it also runs K single-message invocations and K invocations of a
trivial message (the baseline, interleaved) and reports p50/p95 of (invocation - baseline median).
The machine may be loaded: read the seconds as figures "under load", the ratios as the signal.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
GRIEF_TYPE = {"grief", "grave_visit", "anniversary", "guilt_no_intent"}


def _cli(*args: str, stdin: str | None = None) -> tuple[str, float]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "safety", "check", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"vos safety check failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout, elapsed


def _ratio(hit: int, total: int) -> str:
    return f"{hit}/{total} ({hit / total:.1%})" if total else "0/0 (-)"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def score(rows: list[dict[str, Any]]) -> dict[str, Any]:
    crisis = [r for r in rows if r["label"] == "crisis"]
    safe = [r for r in rows if r["label"] == "safe"]
    scam = [r for r in rows if r["label"] == "scam"]
    out: dict[str, Any] = {"n": len(rows)}

    def recall(subset: list[dict[str, Any]], verdict: str) -> tuple[int, int]:
        return sum(r["verdict"] == verdict for r in subset), len(subset)

    out["crisis_recall"] = {
        "all": recall(crisis, "crisis"),
        "ko": recall([r for r in crisis if r["lang"] == "ko"], "crisis"),
        "en": recall([r for r in crisis if r["lang"] == "en"], "crisis"),
    }
    by_cat: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in crisis:
        by_cat[r["category"]].append(r)
    out["crisis_recall_by_category"] = {c: recall(v, "crisis") for c, v in sorted(by_cat.items())}
    grief = [r for r in safe if r["category"] in GRIEF_TYPE]
    out["false_crisis_grief_type"] = recall(grief, "crisis")
    out["false_crisis_all_safe"] = recall(safe, "crisis")
    out["false_block_all_safe"] = recall(safe, "block")
    out["false_any_all_safe"] = (sum(r["verdict"] != "allow" for r in safe), len(safe))
    safe_cat: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in safe:
        safe_cat[r["category"]].append(r)
    out["safe_flagged_by_category"] = {
        c: (sum(r["verdict"] != "allow" for r in v), len(v)) for c, v in sorted(safe_cat.items())
    }
    blocked = [r for r in rows if r["verdict"] == "block"]
    tp = sum(r["label"] == "scam" for r in blocked)
    out["scam_precision"] = (tp, len(blocked))
    out["scam_recall"] = recall(scam, "block")
    out["scam_recall_ko"] = recall([r for r in scam if r["lang"] == "ko"], "block")
    out["scam_recall_en"] = recall([r for r in scam if r["lang"] == "en"], "block")
    scam_cat: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in scam:
        scam_cat[r["category"]].append(r)
    out["scam_recall_by_category"] = {c: recall(v, "block") for c, v in sorted(scam_cat.items())}
    out["scam_as_crisis"] = recall(scam, "crisis")
    out["crisis_as_block"] = recall(crisis, "block")
    out["misses"] = {
        "crisis_missed": [r["text"] for r in crisis if r["verdict"] != "crisis"],
        "safe_flagged": [f"{r['verdict']}: {r['text']}" for r in safe if r["verdict"] != "allow"],
        "scam_missed": [r["text"] for r in scam if r["verdict"] != "block"],
    }
    return out


def latency(rows: list[dict[str, Any]], k: int) -> dict[str, float]:
    step = max(1, len(rows) // k)
    sample = rows[::step][:k]
    base: list[float] = []
    each: list[float] = []
    for r in sample:
        base.append(_cli("안녕", "--json")[1])
        each.append(_cli(r["text"], "--json")[1])
    b = statistics.median(base)
    extra = [max(0.0, t - b) for t in each]
    return {
        "k": len(sample),
        "baseline_invocation_median_s": b,
        "p50_s": _pct(extra, 0.5),
        "p95_s": _pct(extra, 0.95),
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vos-heldout-safety-") as tmp:
        os.environ.setdefault("VOS_DATA_DIR", tmp)
        _main()


def _main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", default=str(HERE / "safety.jsonl"))
    ap.add_argument("--latency", type=int, default=0, help="single-message invocations to time")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--misses", action="store_true", help="print every miss and false alarm")
    args = ap.parse_args()
    src = [json.loads(line) for line in Path(args.file).read_text(encoding="utf-8").splitlines() if line]

    _, one = _cli("--jsonl", "-", stdin=json.dumps(src[0], ensure_ascii=False) + "\n")
    t0 = time.perf_counter()
    stdout, whole = _cli("--jsonl", args.file)
    rows = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    if len(rows) != len(src) or any(a["text"] != b["text"] for a, b in zip(rows, src, strict=True)):
        raise SystemExit("the CLI's output rows do not match the input rows")
    result = score(rows)
    result["timing"] = {
        "whole_file_s": whole,
        "one_line_file_s": one,
        "mean_s_per_message": (whole - one) / max(1, len(rows) - 1),
        "wall_s": time.perf_counter() - t0,
    }
    if args.latency:
        result["timing"]["single"] = latency(src, args.latency)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return
    p = print
    cr = result["crisis_recall"]
    p(f"held-out safety set: {result['n']} messages ({args.file})")
    p(f"crisis recall  all {_ratio(*cr['all'])}  ko {_ratio(*cr['ko'])}  en {_ratio(*cr['en'])}")
    for c, v in result["crisis_recall_by_category"].items():
        p(f"  {c:22s} {_ratio(*v)}")
    p(f"false crisis on grief-type safe messages {_ratio(*result['false_crisis_grief_type'])}")
    p(f"false crisis on all safe messages        {_ratio(*result['false_crisis_all_safe'])}")
    p(f"false block on all safe messages         {_ratio(*result['false_block_all_safe'])}")
    p(f"any flag on all safe messages            {_ratio(*result['false_any_all_safe'])}")
    for c, v in result["safe_flagged_by_category"].items():
        p(f"  {c:22s} flagged {_ratio(*v)}")
    p(f"scam precision {_ratio(*result['scam_precision'])}  recall {_ratio(*result['scam_recall'])}")
    p(f"  ko {_ratio(*result['scam_recall_ko'])}  en {_ratio(*result['scam_recall_en'])}")
    for c, v in result["scam_recall_by_category"].items():
        p(f"  {c:22s} {_ratio(*v)}")
    p(
        f"scam messages answered as crisis {_ratio(*result['scam_as_crisis'])}; "
        f"crisis messages blocked as scam {_ratio(*result['crisis_as_block'])}"
    )
    t = result["timing"]
    p(
        f"timing (under load): whole file {t['whole_file_s']:.1f} s, "
        f"one-line file {t['one_line_file_s']:.1f} s, "
        f"mean {t['mean_s_per_message'] * 1000:.1f} ms per message"
    )
    if "single" in t:
        s = t["single"]
        p(
            f"  single-message invocations (k={s['k']}) minus baseline "
            f"{s['baseline_invocation_median_s']:.2f} s: "
            f"p50 {s['p50_s'] * 1000:.0f} ms, p95 {s['p95_s'] * 1000:.0f} ms"
        )
    if args.misses:
        for name, items in result["misses"].items():
            p(f"{name} ({len(items)}):")
            for text in items:
                p(f"  - {text}")


if __name__ == "__main__":
    main()
