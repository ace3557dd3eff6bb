"""Memory recall: a long export with planted memories, asked about in other words.

Builds a KakaoTalk export (PC Windows, Korean) of everyday filler exchanges in bursts over several years,
plants the memories of ``bench/data/memory_recall_ko.json`` at their dates, imports it through the real
star creation (moments, morphemes, embeddings), and asks every question. Prints recall@1 and recall@5 of
the hybrid search beside its lexical-only and dense-only halves (baselines, same run), per split
(``dev``: may be looked at while tuning; ``test``: not).

``--data bench/data/memory_recall_ko_new.json`` asks a second set, written later in new words (splits
``tune``: may be looked at; ``check``: not), half of whose memories come up mid-conversation: ``lead``
everyday lines open their moment, so the key lines come past its first hundred characters.

Usage: ``python bench/memory_recall.py [--messages 3000] [--data FILE] [--verbose]`` (goal: hybrid
recall@5 >= 0.9 offline).

Measured 2026-12-04 (3,000 messages; before -> after the hub correction and 200 embedded characters):
bench set dev 0.75/0.88 -> 0.88/1.00, test 0.56/0.88 -> 0.69/0.94 (recall@1/@5); second set tune
0.25/0.50 -> 0.58/0.79, check 0.20/0.35 -> 0.35/0.65.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.settings import load_settings
from bot.wiring import running_app
from core.domain.identity import Locale, Platform, UserRef
from core.personas.stars import NewStar

DATA = Path(__file__).resolve().parent / "data" / "memory_recall_ko.json"
FILLER = [
    ("민지", "엄마 뭐해?"),
    ("엄마", "티비 보고 있지"),
    ("민지", "저녁 먹었어?"),
    ("엄마", "응 대충 먹었어 너는?"),
    ("민지", "나 오늘 야근이야"),
    ("엄마", "밥은 꼭 챙겨 먹어"),
    ("엄마", "내일 비 온대 우산 챙겨~~"),
    ("민지", "알았어 ㅎㅎ"),
    ("엄마", "주말에 올 거야?"),
    ("민지", "토요일에 갈게"),
    ("엄마", "조심히 와"),
    ("민지", "피곤하다 ㅠㅠ"),
    ("엄마", "일찍 자"),
    ("엄마", "잘 자 우리 딸"),
    ("민지", "엄마도 잘 자"),
    ("엄마", "아빠가 안부 전하래"),
    ("민지", "아빠 허리는 좀 괜찮아?"),
    ("엄마", "파스 붙이고 있어"),
    ("민지", "날씨 많이 추워졌다"),
    ("엄마", "옷 따뜻하게 입고 다녀"),
    ("민지", "출근 중"),
    ("엄마", "운전 조심"),
    ("엄마", "반찬 보냈다 냉장고에 넣어"),
    ("민지", "고마워 엄마 최고"),
    ("엄마", "전화 좀 자주 해"),
    ("민지", "요즘 바빠서 미안"),
    ("엄마", "괜찮아 건강만 해"),
    ("민지", "마트 왔는데 뭐 필요해?"),
    ("엄마", "계란이랑 두부 사와"),
    ("민지", "ㅋㅋㅋ 알았어"),
]

# Longer everyday lines that open a planted memory's moment ("lead" in the data): its key lines then come
# past the first hundred characters, as in a real chat where a memory comes up mid-conversation.
LEAD = [
    ("민지", "엄마 오늘 점심에 회사 앞 국숫집 갔는데 줄이 엄청 길더라"),
    ("엄마", "그래도 따뜻한 거 먹었으면 됐지 날이 쌀쌀하잖아"),
    ("민지", "응 먹고 들어와서 오후 내내 회의만 세 번 했어"),
    ("엄마", "아이고 힘들었겠다 저녁은 집에서 챙겨 먹고"),
    ("민지", "오늘은 일찍 들어가서 좀 쉬려고 그 얘기 하려고 했는데"),
    ("엄마", "그래 무슨 일 있어? 목소리가 좀 들떠 보이네"),
    ("민지", "버스 놓쳐서 한참 기다렸는데 바람이 너무 불었어"),
    ("엄마", "목도리 하고 다니라니까 감기 걸리면 고생이야"),
    ("민지", "주말에 대청소 하려고 했는데 벌써 귀찮아지네"),
    ("엄마", "천천히 해 한 번에 다 하려고 하지 말고"),
]


def _line(when: datetime, who: str, text: str) -> str:
    ampm = "오전" if when.hour < 12 else "오후"
    return f"[{who}] [{ampm} {when.hour % 12 or 12}:{when.minute:02d}] {text}"


def write_export(path: Path, count: int, memories: list[dict[str, Any]], seed: int = 5) -> None:
    rng = random.Random(seed)
    events: list[tuple[datetime, str, str]] = []
    when = datetime(2016, 1, 1, 9, 0)
    while len(events) < count:
        when += timedelta(hours=rng.randint(3, 40), minutes=rng.randint(0, 59))
        start = rng.randrange(len(FILLER))
        for k in range(rng.randint(2, 8)):
            who, text = FILLER[(start + k) % len(FILLER)]
            events.append((when + timedelta(minutes=k * rng.randint(1, 4)), who, text))
    for index, memory in enumerate(memories):
        at = datetime.strptime(str(memory["date"]), "%Y-%m-%d %H:%M")
        lead = int(memory.get("lead", 0))
        for k in range(lead):  # everyday lines opening the moment: its key lines come later
            who, text = LEAD[(index * 3 + k) % len(LEAD)]
            events.append((at - timedelta(minutes=lead - k), who, text))
        for k, (who, text) in enumerate(memory["lines"]):
            events.append((at + timedelta(minutes=k), who, text))
    events.sort(key=lambda e: e[0])
    day = None
    with path.open("w", encoding="utf-8") as fh:
        fh.write("엄마 님과 카카오톡 대화\n저장한 날짜 : 2024-01-01 10:00:00\n\n")
        for at, who, text in events:
            if at.date() != day:
                day = at.date()
                weekday = "월화수목금토일"[day.weekday()]
                fh.write(
                    f"--------------- {day.year}년 {day.month}월 {day.day}일 {weekday}요일 ---------------\n"
                )
            fh.write(_line(at, who, text) + "\n")


async def main(count: int, memories: list[dict[str, Any]], verbose: bool = False) -> None:
    folder = Path(tempfile.mkdtemp(prefix="vos-recall-"))
    export = folder / "export.txt"
    write_export(export, count, memories)
    settings = load_settings(env_file=None, data_dir=folder / "data")
    async with running_app(settings, use_settings_model=False) as app:
        user = await app.users.get_or_create(
            UserRef(platform=Platform.CONSOLE, platform_user_id="bench"),
            display_name="민지",
            locale=Locale.KO,
        )
        t0 = time.perf_counter()
        progress: list[str] = []
        result = await app.star_service.create(
            NewStar(owner_id=user.id, name="엄마", relation="어머니", participant="엄마"),
            await app.blobs.put_file(export),
            consent_text="bench",
            progress=lambda _f, text: progress.append(text),
        )
        import_s = time.perf_counter() - t0
        star = result.star
        modes = {
            "hybrid": lambda q: q,
            "lexical": lambda q: replace(q, vector=None),
            "dense": lambda q: replace(q, tokens=()),
        }
        hits: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for memory in memories:
            needle = memory["lines"][0][1]
            for question in memory["questions"]:
                query = await app.memory.prepare(question)
                for mode, shape in modes.items():
                    found = await app.memory.search(star.id, shape(query), user_id=user.id, limit=5)
                    rank = next((i for i, m in enumerate(found) if needle in m.text), 99)
                    hits.setdefault((mode, memory["split"]), []).append((int(rank == 0), int(rank < 5)))
                    if verbose and mode == "hybrid" and rank > 0 and memory["split"] in ("dev", "tune"):
                        top = found[0].text.replace("\n", " | ")[:80] if found else "-"
                        print(f"rank {rank}: {question}  tokens={query.tokens}  top: {top}")
        moments = len(progress)
    print(
        f"export: {result.imported} messages, {len(memories)} planted memories; import with moments and "
        f"vectors {import_s:.0f} s ({moments} progress steps)"
    )
    for mode in modes:
        for split in [*dict.fromkeys(str(m["split"]) for m in memories), "all"]:
            rows = [r for (m, s), rs in hits.items() if m == mode and split in (s, "all") for r in rs]
            if rows:
                r1 = sum(r[0] for r in rows) / len(rows)
                r5 = sum(r[1] for r in rows) / len(rows)
                print(f"{mode:8s} {split:5s} n={len(rows):3d}  recall@1 {r1:.2f}  recall@5 {r5:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="print the dev and tune questions hybrid search did not rank first",
    )
    parser.add_argument("--data", type=Path, default=DATA, help="planted memories (default: %(default)s)")
    args = parser.parse_args()
    planted = json.loads(args.data.read_text(encoding="utf-8"))["memories"]
    asyncio.run(main(args.messages, planted, args.verbose))
