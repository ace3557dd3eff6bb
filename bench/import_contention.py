"""Benchmark another user's chat turns while a big star import runs in the same process.

One app (SQLite, the offline engine), two users. User A has a small star and chats with it; user B
imports a large export (an iOS family chat, the star writing 60%). Reports A's turn latency (whole
``ChatService.turn``: safety, retrieval, reply, history writes) alone and during B's import, p50/p95/max,
and how long the import took. Goal: p95 during the import <= 2x alone, and no turn near the 60 s busy
timeout (the import writes in short batches; a turn waits for one batch at most).

Usage: ``python bench/import_contention.py [--messages 300000] [--turns 100]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.settings import load_settings
from bot.wiring import running_app
from core.domain.identity import Locale, Platform, UserRef
from core.personas.stars import NewStar
from tests.support.kakao import write_export
from tests.support.kakao_realistic import STAR, USER, family_chat

_QUESTIONS = ("밥은 먹었어?", "오늘 날씨 춥다", "주말에 뭐 해?", "엄마 보고 싶어", "병원 다녀왔어?")


def _stats(values: list[float]) -> str:
    p95 = statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)
    return (
        f"p50 {statistics.median(values) * 1e3:7.1f} ms  p95 {p95 * 1e3:7.1f} ms  "
        f"max {max(values) * 1e3:7.1f} ms  (n={len(values)})"
    )


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="vos-contention-") as tmp:
        folder = Path(tmp)
        os.environ["VOS_DATA_DIR"] = str(folder / "data")
        os.environ.pop("VOS_DATABASE_URL", None)
        small = write_export(folder / "small.txt", "ios_ko", family_chat(5_000, seed=3), crlf=True, bom=True)
        big = write_export(folder / "big.txt", "ios_ko", family_chat(args.messages), crlf=True, bom=True)
        async with running_app(load_settings(env_file=None), use_settings_model=False) as app:
            a = await app.users.get_or_create(
                UserRef(platform=Platform.CONSOLE, platform_user_id="a"), display_name="a", locale=Locale.KO
            )
            b = await app.users.get_or_create(
                UserRef(platform=Platform.CONSOLE, platform_user_id="b"), display_name="b", locale=Locale.KO
            )
            created = await app.star_service.create(
                NewStar(owner_id=a.id, name="엄마", relation="어머니", participant=STAR),
                await app.blobs.put_file(small),
                consent_text="bench",
            )
            star = created.star

            async def turns(count: int) -> list[float]:
                out = []
                for i in range(count):
                    started = time.perf_counter()
                    await app.chat.turn(a, star, _QUESTIONS[i % len(_QUESTIONS)], Locale.KO)
                    out.append(time.perf_counter() - started)
                    await asyncio.sleep(0.02)  # a person types; the import gets the machine in between
                return out

            await turns(10)  # warm-up: models, caches
            alone = await turns(args.turns)
            key = await app.blobs.put_file(big)
            started = time.perf_counter()
            importing = asyncio.ensure_future(
                app.star_service.create(
                    NewStar(owner_id=b.id, name="아들", relation="", participant=USER),
                    key,
                    consent_text="bench",
                )
            )
            during: list[float] = []
            while not importing.done():
                during += await turns(5)
            result = await importing
            import_s = time.perf_counter() - started
            after = await turns(args.turns)
    print(f"import: {result.imported:,} messages in {import_s:.1f} s while user A chatted")
    print(f"A alone          {_stats(alone)}")
    print(f"A during import  {_stats(during)}")
    print(f"A after import   {_stats(after)}")
    ratio = _p95(during) / _p95(alone)
    ok = ratio <= 2.0 and max(during) < 60
    print(
        f"{'PASS' if ok else 'FAIL'} p95 during / alone = {ratio:.2f}x (goal <= 2x); max {max(during):.2f} s"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--turns", type=int, default=100)
    sys.exit(asyncio.run(main(parser.parse_args())))
