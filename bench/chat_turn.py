"""Benchmark one chat turn with a star of N imported messages (default 100,000).

Reports p50/p95 over many turns of:
- prompt: retrieval + prompt assembly for an LLM (no LLM call); target p95 <= 20 ms;
- offline: the offline engine's whole turn (safety, retrieval, choice, history writes); target p95 <= 50 ms;
- import: the time to import the export into SQLite with the memory index, for scale.

Usage: ``python bench/chat_turn.py [--messages 100000] [--turns 1000]``
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.settings import load_settings
from bot.wiring import running_app
from core.domain.identity import Locale, Platform, UserRef
from core.personas.prompting import HistoryTurn, Memory, MemoryLine, PersonaCard, PromptBudget, build_prompt
from core.personas.stars import NewStar

_WORDS = [
    "밥",
    "김치찌개",
    "된장찌개",
    "회사",
    "비",
    "우산",
    "송편",
    "추석",
    "케이크",
    "병원",
    "검사",
    "학교",
    "시험",
    "운전",
    "여행",
    "바다",
    "산책",
    "강아지",
    "고양이",
    "할머니",
    "아빠",
    "동생",
    "친구",
    "생일",
    "선물",
    "꽃",
    "커피",
    "빵",
    "라면",
    "주말",
    "월요일",
    "저녁",
    "아침",
    "감기",
    "약",
    "날씨",
    "눈",
    "겨울",
    "여름",
    "봄",
    "가을",
]
_ENDINGS = ("먹었어?", "했어 ㅎㅎ", "조심해~~", "사랑해", "잘 자", "괜찮아?", "보고 싶다", "ㅋㅋㅋ 진짜?")


def write_export(path: Path, count: int, seed: int = 3) -> None:
    rng = random.Random(seed)
    when = datetime(2016, 1, 1, 8, 0)
    day = None
    with path.open("w", encoding="utf-8") as fh:
        fh.write("엄마 님과 카카오톡 대화\n저장한 날짜 : 2024-01-01 10:00:00\n\n")
        for i in range(count):
            when += timedelta(minutes=rng.randint(1, 90))
            if when.date() != day:
                day = when.date()
                fh.write(f"--------------- {day.year}년 {day.month}월 {day.day}일 월요일 ---------------\n")
            who = "엄마" if i % 2 else "민지"
            text = f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} {rng.choice(_ENDINGS)}"
            ampm = "오전" if when.hour < 12 else "오후"
            fh.write(f"[{who}] [{ampm} {when.hour % 12 or 12}:{when.minute:02d}] {text}\n")


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


async def main(count: int, turns: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="vos-bench-"))
    export = folder / "export.txt"
    write_export(export, count)
    settings = load_settings(env_file=None, data_dir=folder / "data")
    async with running_app(settings, use_settings_model=False) as app:
        user = await app.users.get_or_create(
            UserRef(platform=Platform.CONSOLE, platform_user_id="bench"),
            display_name="민지",
            locale=Locale.KO,
        )
        key = await app.blobs.put_file(export)
        t0 = time.perf_counter()
        result = await app.star_service.create(
            NewStar(owner_id=user.id, name="엄마", relation="어머니", participant="엄마"),
            key,
            consent_text="bench",
        )
        import_s = time.perf_counter() - t0
        star = result.star
        rng = random.Random(9)
        queries = [f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} {rng.choice(_ENDINGS)}" for _ in range(turns)]
        card = PersonaCard(star_name="엄마", relation="어머니", user_name="민지", locale="ko")
        budget = PromptBudget(context_tokens=8192, reply_tokens=400)
        prompt_times: list[float] = []
        history = [HistoryTurn(role="user" if i % 2 else "star", text=q) for i, q in enumerate(queries[:20])]
        for q in queries:
            t = time.perf_counter()
            exchanges = await app.memory.search(star.id, q, limit=6)
            memories = tuple(
                Memory(
                    when=ex.when,
                    exchange=tuple(MemoryLine(author=m.author, text=m.text) for m in ex.prompt + ex.reply),
                    score=ex.score,
                )
                for ex in exchanges
            )
            build_prompt(card, memories, tuple(history), q, budget=budget)
            prompt_times.append(time.perf_counter() - t)
        turn_times: list[float] = []
        for q in queries:
            t = time.perf_counter()
            await app.chat.turn(user, star, q, Locale.KO)
            turn_times.append(time.perf_counter() - t)
    print(
        f"star messages: {result.imported}  import (parse + SQLite + FTS index): {import_s:.1f} s "
        f"({result.imported / import_s:,.0f} msg/s)"
    )
    print(
        f"prompt (retrieval + assembly): p50 {pct(prompt_times, 50):.1f} ms  "
        f"p95 {pct(prompt_times, 95):.1f} ms  "
        f"(target p95 <= 20 ms)"
    )
    print(
        f"offline full turn:             p50 {pct(turn_times, 50):.1f} ms  p95 {pct(turn_times, 95):.1f} ms  "
        f"(target p95 <= 50 ms)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--turns", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.turns))
