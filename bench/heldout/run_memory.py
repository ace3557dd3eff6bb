"""Score the star's memory on the held-out exports (reporting only, never tuning).

    python bench/heldout/run_memory.py [--data-dir DIR] [--reuse] [--json]

Builds the exports with memory_build.py, then uses the product's CLI as a user would, in a fresh
data directory (VOS_DATA_DIR; SQLite inside it):
    python -m bot star create --name N --export FILE --participant P --json
    python -m bot memory index N --json          (builds whatever the import left out)
    python -m bot memory search N "question" --json --limit 5
A question is a hit at rank k when one of the first k memories returned contains one of its
planted memory's anchor words (the builder checks that anchors occur nowhere else in the export).
--reuse keeps a data dir whose stars were created by an earlier run (skips create and index).
Seconds are wall-clock on a shared machine, under load.
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
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def _cli(*args: str) -> tuple[str, float]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"vos {' '.join(args[:3])} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout, elapsed


def _last_json(stdout: str) -> Any:
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise SystemExit(f"no JSON in output: {stdout[-500:]}")


def run(data_dir: Path, reuse: bool) -> dict[str, Any]:
    exports = data_dir / "exports"
    subprocess.run(
        [sys.executable, str(HERE / "memory_build.py"), str(exports)], check=True, stdout=sys.stderr
    )
    spec = json.loads((exports / "questions.json").read_text(encoding="utf-8"))
    result: dict[str, Any] = {"langs": {}}
    for lang, s in spec.items():
        timing: dict[str, float] = {}
        if not reuse:
            out, timing["create_s"] = _cli(
                "star", "create", "--name", s["name"], "--export", str(exports / s["file"]),
                "--participant", s["participant"], "--json",
            )  # fmt: skip
            created = _last_json(out)
            out, timing["index_s"] = _cli("memory", "index", s["name"], "--json")
            timing["index_moments_left"] = _last_json(out).get("moments", 0)
            if created.get("messages") != s["messages"]:
                print(f"warning: {lang} import kept {created.get('messages')} of {s['messages']} messages")
        rows = []
        search_s: list[float] = []
        for m in s["memories"]:
            anchors = [a.lower() for a in m["anchors"]]
            for q in m["questions"]:
                out, secs = _cli("memory", "search", s["name"], q, "--json", "--limit", "5")
                search_s.append(secs)
                memories = _last_json(out)["memories"]
                rank = next(
                    (
                        i + 1
                        for i, mem in enumerate(memories)
                        if any(a in mem["text"].lower() for a in anchors)
                    ),
                    None,
                )
                top = memories[0]["text"].replace("\n", " / ")[:80] if memories else ""
                rows.append({"memory": m["key"], "question": q, "rank": rank, "top": top})
        timing["search_p50_s"] = statistics.median(search_s)
        timing["search_max_s"] = max(search_s)
        n = len(rows)
        result["langs"][lang] = {
            "messages": s["messages"],
            "memories": len(s["memories"]),
            "questions": n,
            "recall@1": sum(r["rank"] == 1 for r in rows) / n,
            "recall@5": sum(r["rank"] is not None for r in rows) / n,
            "hits@1": sum(r["rank"] == 1 for r in rows),
            "hits@5": sum(r["rank"] is not None for r in rows),
            "rows": rows,
            "timing": timing,
        }
    allrows = [r for v in result["langs"].values() for r in v["rows"]]
    result["all"] = {
        "questions": len(allrows),
        "hits@1": sum(r["rank"] == 1 for r in allrows),
        "hits@5": sum(r["rank"] is not None for r in allrows),
    }
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, help="VOS_DATA_DIR to use (default: a fresh temporary one)")
    ap.add_argument("--reuse", action="store_true", help="the stars already exist in --data-dir")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    for key in [k for k in os.environ if k.startswith("VOS_")]:
        del os.environ[key]  # only the data dir below decides where the stars go
    with tempfile.TemporaryDirectory(prefix="vos-heldout-memory-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        os.environ["VOS_DATA_DIR"] = str(data_dir)
        t0 = time.perf_counter()
        result = run(data_dir, args.reuse)
        result["wall_s"] = time.perf_counter() - t0
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return
    for lang, v in result["langs"].items():
        print(
            f"{lang}: {v['messages']} messages, {v['memories']} planted memories, {v['questions']} questions"
        )
        print(f"  recall@1 {v['hits@1']}/{v['questions']} ({v['recall@1']:.0%})   "
              f"recall@5 {v['hits@5']}/{v['questions']} ({v['recall@5']:.0%})")  # fmt: skip
        for r in v["rows"]:
            print(f"  [{r['rank'] or '-'}] {r['memory']:16s} {r['question']}   top: {r['top']}")
        t = v["timing"]
        print("  seconds (under load): " + ", ".join(f"{k} {val:.1f}" for k, val in t.items()))
    a = result["all"]
    print(f"all: recall@1 {a['hits@1']}/{a['questions']}  recall@5 {a['hits@5']}/{a['questions']}  "
          f"wall {result['wall_s']:.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()
