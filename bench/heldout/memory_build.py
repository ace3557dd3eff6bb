"""Write two decade-long KakaoTalk exports with planted memories, deterministically (reporting only).

    python bench/heldout/memory_build.py OUT_DIR [--scale 1.0]

Writes OUT_DIR/ko_android.txt (Android ko shape: a mother, 박정희, and her son 김민준, 2015-2024),
OUT_DIR/en_ios.txt (iOS en shape, BOM + CRLF: a father, Robert, and his daughter Emily, 2014-2023) and
OUT_DIR/questions.json. Every planted memory is a short exchange on its own date; its anchor words are
checked to occur nowhere else in the export, so a search hit containing an anchor is that memory.
The questions ask about each memory in other words (none of them contains an anchor).
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from heldout_filler import EN_TOPICS, KO_TOPICS, Topic


@dataclass(frozen=True)
class Memory:
    key: str
    day: date
    hour: int
    lines: tuple[tuple[str, str], ...]  # (who: "star"|"user", text)
    anchors: tuple[str, ...]
    questions: tuple[str, ...]


S, U = "star", "user"

KO_MEMORIES = (
    Memory(
        "dog_surgery",
        date(2016, 5, 12),
        14,
        (
            (U, "엄마 초롱이 수술 잘 끝났대?"),
            (S, "응 슬개골 수술 잘 됐대 ㅠㅠ 뒷다리에 깁스하고 자고 있어"),
            (S, "한 달은 뛰지 말래 의사선생님이"),
            (U, "다행이다 ㅠ 간식 너무 많이 주지 마"),
        ),
        ("슬개골", "깁스"),
        ("우리 강아지 다리 수술했던 거 기억나?", "초롱이 병원에서 무슨 치료 받았었지?"),
    ),
    Memory(
        "galbijjim",
        date(2017, 9, 30),
        19,
        (
            (U, "엄마 추석 때 해준 갈비찜 어떻게 해? 와이프가 물어봐"),
            (S, "핏물 빼고 배 하나 갈아서 간장 설탕 물엿 넣고 재워"),
            (S, "압력솥에 20분 하고 밤 대추 넣어서 졸이면 돼~"),
        ),
        ("갈비찜", "물엿", "압력솥"),
        ("명절에 해주던 고기 요리 만드는 법 다시 알려줘",),
    ),
    Memory(
        "jeju",
        date(2018, 4, 21),
        10,
        (
            (S, "아들 우리 오늘 새벽에 성산일출봉 올라갔다 해 뜨는 거 봤어"),
            (U, "오 대박 힘들지 않았어?"),
            (S, "숨차서 죽는줄ㅎㅎ 저녁엔 흑돼지 먹기로 했어"),
            (S, "내일은 배 타고 우도 들어간대 땅콩아이스크림 먹으러"),
        ),
        ("성산일출봉", "흑돼지", "우도"),
        ("제주도 갔던 거 기억나?", "섬으로 여행 가서 해돋이 봤던 날"),
    ),
    Memory(
        "gyeongju",
        date(2015, 10, 3),
        16,
        (
            (S, "불국사 단풍 너무 예쁘다 사진 보내줄게"),
            (S, "사진"),
            (U, "첨성대도 가봐 밤에 조명 켜지면 예뻐"),
            (S, "그래 황리단길에서 십원빵 사 먹고 갈게"),
        ),
        ("불국사", "첨성대", "황리단길"),
        ("경주 여행 기억나?", "신라 유적 보러 다녀오셨던 가을"),
    ),
    Memory(
        "dad_gallbladder",
        date(2019, 2, 14),
        9,
        (
            (S, "아빠 담낭 떼는 수술 들어가셨어"),
            (S, "복강경으로 해서 배에 구멍 세 개만 낸대"),
            (U, "헐 나 반차 내고 갈게 어느 병동이야"),
            (S, "7층 외과병동이야 천천히 와"),
        ),
        ("담낭", "복강경", "외과병동"),
        ("아빠 쓸개 수술하셨을 때 기억나?",),
    ),
    Memory(
        "enlistment",
        date(2016, 11, 28),
        13,
        (
            (S, "우리 아들 논산 훈련소 들어가는 거 보고 차에서 한참 울었다"),
            (S, "까까머리 한 거 보니까 마음이 찡하더라"),
            (U, "엄마 나 잘 있을게 편지 꼭 써줘"),
        ),
        ("논산", "훈련소", "까까머리"),
        ("나 군대 가던 날 생각나?",),
    ),
    Memory(
        "pearl",
        date(2020, 6, 6),
        20,
        (
            (U, "엄마 아빠 30주년 축하해!! 선물 맘에 들어?"),
            (S, "진주목걸이를 뭐하러 샀어 비싼 걸ㅠㅠ 너무 예쁘다"),
            (S, "아빠가 옆에서 자기가 골랐다고 우기네ㅋㅋ"),
        ),
        ("진주목걸이",),
        ("결혼기념일 선물로 뭐 드렸었지?",),
    ),
    Memory(
        "kimjang",
        date(2021, 11, 20),
        11,
        (
            (S, "오늘 큰이모네서 배추 50포기 절였어"),
            (S, "허리가 끊어질 것 같다 ㅎㅎ 굴 넣은 거 따로 한 통 챙겨놨어"),
            (U, "고생했어 엄마 나 다음주에 가지러 갈게"),
        ),
        ("큰이모", "50포기"),
        ("겨울 앞두고 김치 잔뜩 담그던 날 기억나?",),
    ),
    Memory(
        "grandma_70",
        date(2017, 3, 11),
        18,
        (
            (U, "외할머니 칠순 잔치 어디서 해?"),
            (S, "시내 한정식집 예약했어 이층 방으로"),
            (S, "너는 사회 좀 봐 삼촌이 못 온대"),
        ),
        ("칠순", "한정식"),
        ("할머니 일흔 번째 생신 때 어디서 모였더라?",),
    ),
    Memory(
        "driving_test",
        date(2015, 7, 24),
        15,
        (
            (U, "엄마 나 도로주행 또 떨어졌어 ㅠㅠㅠ 세 번째야"),
            (S, "괜찮아 우회전할 때 깜빡이 안 켜서 그런 거지?"),
            (S, "다음엔 붙을 거야 엄마도 네 번 만에 땄어ㅎㅎ"),
        ),
        ("도로주행", "깜빡이"),
        ("나 운전면허 시험 볼 때 엄마가 뭐라고 했지?",),
    ),
    Memory(
        "knee",
        date(2022, 8, 9),
        10,
        (
            (S, "정형외과 갔더니 무릎 연골이 닳았대"),
            (S, "주사 세 번 맞으래 일주일에 한 번씩"),
            (U, "계단 많은 데 다니지 마 엄마 내가 모시러 갈게"),
        ),
        ("정형외과", "연골"),
        ("엄마 관절 아파서 병원 다니셨던 거",),
    ),
    Memory(
        "wallet",
        date(2019, 8, 31),
        22,
        (
            (U, "엄마 나 고속터미널에서 지갑 놓고 내렸어 ㅠㅠ"),
            (S, "분실물센터에 전화해봐 카드는 정지했어?"),
            (U, "찾았어!! 화장실 세면대에 있었대"),
        ),
        ("고속터미널", "분실물센터", "세면대"),
        ("내가 버스 타러 갔다가 물건 잃어버렸던 날",),
    ),
    Memory(
        "busan",
        date(2023, 7, 15),
        21,
        (
            (S, "해운대 바닷물 아직 차갑다ㅎㅎ 발만 담갔어"),
            (S, "지금 광안대교 불빛 보면서 돼지국밥 먹는 중"),
            (U, "부럽다 나도 데려가지"),
        ),
        ("해운대", "광안대교", "돼지국밥"),
        ("부산 놀러 갔던 거 기억해?", "여름에 바닷가 도시 가셨던 날"),
    ),
    Memory(
        "doljabi",
        date(2022, 3, 5),
        17,
        (
            (S, "서윤이 돌잡이 때 연필 잡았다며? 공부 잘하겠네ㅎㅎ"),
            (U, "응 판사봉 잡으라고 다들 난리였는데 연필 잡았어ㅋㅋ"),
            (S, "한복 입은 사진 또 보내줘"),
        ),
        ("돌잡이", "판사봉"),
        ("손녀 첫 생일 잔치 때 뭐 집었지?",),
    ),
    Memory(
        "moving",
        date(2018, 12, 22),
        8,
        (
            (S, "포장이사 아저씨들 일곱 시에 왔어"),
            (S, "사다리차로 장롱 내리는데 심장 떨려서 못 보겠다"),
            (U, "새 집 주소 문자로 보내줘 퇴근하고 갈게"),
        ),
        ("포장이사", "사다리차", "장롱"),
        ("집 옮기던 날 기억나?",),
    ),
)

EN_MEMORIES = (
    Memory(
        "sf_trip",
        date(2015, 6, 20),
        11,
        (
            (S, "Just walked across the Golden Gate. Windy as heck"),
            (S, "Tomorrow we're taking the ferry to Alcatraz, your mom booked it"),
            (U, "Get sourdough at the wharf!!"),
        ),
        ("golden gate", "alcatraz", "sourdough"),
        ("remember our San Francisco trip?",),
    ),
    Memory(
        "dog_acl",
        date(2017, 3, 2),
        15,
        (
            (U, "How did Biscuit's surgery go??"),
            (S, "Vet says the ACL repair went fine. He's groggy and wearing the cone of shame"),
            (S, "No stairs for six weeks"),
        ),
        ("acl", "cone of shame"),
        ("when our dog had the knee operation",),
    ),
    Memory(
        "pierogi",
        date(2018, 12, 23),
        18,
        (
            (U, "Dad what goes in Grandma's pierogi again"),
            (S, "Potato and farmer's cheese, fried onions. Pinch the edges with a fork"),
            (S, "Boil till they float, then brown them in butter"),
        ),
        ("pierogi", "farmer's cheese"),
        ("how did we make those Christmas Eve dumplings?",),
    ),
    Memory(
        "parallel",
        date(2016, 9, 10),
        16,
        (
            (S, "Proud of you kiddo. You finally nailed the parallel parking"),
            (U, "only hit the cone twice lol"),
            (S, "The church lot is ours again Sunday if you want more practice"),
        ),
        ("parallel park", "church lot"),
        ("remember when you taught me to drive?",),
    ),
    Memory(
        "retirement",
        date(2021, 4, 30),
        19,
        (
            (S, "Thirty-four years at the plant and they gave me a plaque and a sheet cake"),
            (U, "Happy retirement dad!!! How was the party at the VFW hall?"),
            (S, "Your uncle gave a speech and cried. Don't tell him I told you"),
        ),
        ("vfw", "plaque", "sheet cake"),
        ("when you stopped working for good, how was the send-off?",),
    ),
    Memory(
        "bass",
        date(2019, 7, 4),
        9,
        (
            (S, "Caught a five pound largemouth bass off the dock at Lake Wallenpaupack"),
            (S, "Photo"),
            (U, "No way!! Bigger than Uncle Ray's?"),
        ),
        ("largemouth", "wallenpaupack"),
        ("remember that huge fish you caught?",),
    ),
    Memory(
        "trampoline",
        date(2014, 8, 16),
        20,
        (
            (U, "Dad the ER doctor says my wrist is fractured"),
            (S, "I knew that trampoline was a bad idea. Do you need a ride home?"),
            (S, "We'll get you a purple cast, your favorite"),
        ),
        ("trampoline", "purple cast"),
        ("when I broke a bone as a kid",),
    ),
    Memory(
        "turkey_fire",
        date(2020, 11, 26),
        14,
        (
            (S, "Don't be mad but the deep fryer caught fire in the garage"),
            (S, "Everyone's fine. Fire extinguisher worked. We're ordering Chinese"),
            (U, "DAD. omg. Happy Thanksgiving I guess"),
        ),
        ("deep fryer", "fire extinguisher"),
        ("the year the holiday bird went wrong",),
    ),
)


def _ko_time(t: datetime) -> str:
    h = t.hour % 12 or 12
    return f"{'오전' if t.hour < 12 else '오후'} {h}:{t.minute:02d}"


def _ko_day(t: datetime) -> str:
    return f"{t.year}년 {t.month}월 {t.day}일 {_ko_time(t)}"


def _en_time(t: datetime) -> str:
    return f"{t.hour % 12 or 12}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"


def _en_day(t: datetime) -> str:
    return f"{t:%b} {t.day}, {t.year}, {_en_time(t)}"


def _session(rng: random.Random, topic: Topic, start: datetime) -> list[tuple[datetime, str, str]]:
    """One exchange on a topic: the user or the star opens, the star usually writes more bubbles."""
    out: list[tuple[datetime, str, str]] = []
    t = start
    user_first = rng.random() < 0.45
    turns = rng.randint(2, 4)
    left = {U: rng.sample(topic.user, len(topic.user)), S: rng.sample(topic.star, len(topic.star))}
    for i in range(turns):
        who = U if (i % 2 == 0) == user_first else S
        n = rng.choice((1, 1, 2)) if who == U else rng.choice((1, 2, 2, 3))
        for _ in range(min(n, len(left[who]))):
            t += timedelta(minutes=rng.choice((0, 0, 1, 1, 2, 3, 5)))
            out.append((t, who, left[who].pop()))
    return out


def _messages(
    rng: random.Random,
    topics: tuple[Topic, ...],
    memories: tuple[Memory, ...],
    first: date,
    years: int,
    p_day: float,
) -> list[tuple[datetime, str, str]]:
    planted = {m.day: m for m in memories}
    msgs: list[tuple[datetime, str, str]] = []
    day = first
    end = date(first.year + years, first.month, first.day)
    while day < end:
        m = planted.get(day)
        if m is not None:
            t = datetime(day.year, day.month, day.day, m.hour, rng.randint(0, 20))
            for who, text in m.lines:
                t += timedelta(minutes=rng.choice((1, 1, 2, 3)))
                msgs.append((t, who, text))
        elif rng.random() < p_day:
            hour = rng.choice((7, 8, 12, 12, 13, 18, 19, 20, 21, 22))
            start = datetime(day.year, day.month, day.day, hour, rng.randint(0, 40))
            msgs.extend(_session(rng, rng.choice(topics), start))
            if rng.random() < 0.25 and hour < 18:
                later = start + timedelta(hours=rng.randint(3, 6))
                msgs.extend(_session(rng, rng.choice(topics), later))
        day += timedelta(days=1)
    return msgs


def _check(memories: tuple[Memory, ...], msgs: list[tuple[datetime, str, str]]) -> None:
    for m in memories:
        own = {text for _, text in m.lines}
        for a in m.anchors:
            stray = [text for _, _, text in msgs if a.lower() in text.lower() and text not in own]
            if stray:
                raise SystemExit(f"anchor {a!r} of {m.key} occurs outside its memory: {stray[:3]}")
        for q in m.questions:
            if any(a.lower() in q.lower() for a in m.anchors):
                raise SystemExit(f"question {q!r} names an anchor of {m.key}")


def write_ko(path: Path, rng: random.Random, scale: float) -> tuple[int, int]:
    msgs = _messages(rng, KO_TOPICS, KO_MEMORIES, date(2015, 1, 3), 10, min(0.95, 0.33 * scale))
    _check(KO_MEMORIES, msgs)
    names = {S: "박정희", U: "김민준"}
    saved = msgs[-1][0] + timedelta(days=2)
    lines = ["박정희 님과 카카오톡 대화", f"저장한 날짜 : {_ko_day(saved)}"]
    last_day: date | None = None
    for t, who, text in msgs:
        if t.date() != last_day:
            lines += ["", _ko_day(t)]
            last_day = t.date()
        lines.append(f"{_ko_day(t)}, {names[who]} : {text}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(msgs), sum(w == S for _, w, _ in msgs)


def write_en(path: Path, rng: random.Random, scale: float) -> tuple[int, int]:
    msgs = _messages(rng, EN_TOPICS, EN_MEMORIES, date(2014, 2, 1), 10, min(0.95, 0.2 * scale))
    _check(EN_MEMORIES, msgs)
    names = {S: "Robert", U: "Emily"}
    saved = msgs[-1][0] + timedelta(days=1)
    lines = ["KakaoTalk Chats with Robert", f"Date Saved : {_en_day(saved)}", ""]
    last_day: date | None = None
    for t, who, text in msgs:
        if t.date() != last_day:
            lines += [f"{t:%A}, {t:%B} {t.day}, {t.year}"]
            last_day = t.date()
        lines.append(f"{_en_day(t)}, {names[who]} : {text}")
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return len(msgs), sum(w == S for _, w, _ in msgs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--scale", type=float, default=1.0, help="how many chat days, relative")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20261204)
    ko = write_ko(args.out / "ko_android.txt", rng, args.scale)
    en = write_en(args.out / "en_ios.txt", rng, args.scale)
    questions = {
        "ko": {
            "file": "ko_android.txt",
            "participant": "박정희",
            "name": "엄마",
            "messages": ko[0],
            "star": ko[1],
            "memories": [
                {
                    "key": m.key,
                    "date": m.day.isoformat(),
                    "anchors": list(m.anchors),
                    "questions": list(m.questions),
                }
                for m in KO_MEMORIES
            ],
        },
        "en": {
            "file": "en_ios.txt",
            "participant": "Robert",
            "name": "Dad",
            "messages": en[0],
            "star": en[1],
            "memories": [
                {
                    "key": m.key,
                    "date": m.day.isoformat(),
                    "anchors": list(m.anchors),
                    "questions": list(m.questions),
                }
                for m in EN_MEMORIES
            ],
        },
    }
    (args.out / "questions.json").write_text(
        json.dumps(questions, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    for lang, (n, star) in (("ko", ko), ("en", en)):
        memories = KO_MEMORIES if lang == "ko" else EN_MEMORIES
        print(f"{lang}: {n} messages, star {star / n:.0%}, {len(memories)} planted memories")


if __name__ == "__main__":
    main()
