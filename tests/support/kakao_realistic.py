"""A long family chat in the shape real exports have, for benchmarks and large-import tests.

Two people (by default the star writes 60% of the bubbles, as in the held-out exports), everyday
sentences of realistic length (a median bubble of about a dozen characters, a long tail of paragraphs),
bursts of several bubbles, replies minutes to hours apart, photos and emoticons, the odd deleted message
and multi-line message, a join line now and then. Deterministic for a seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta

from core.personas.kakao import KakaoMessage
from tests.support.kakao import SystemEvent

STAR = "김순자"
USER = "이지훈"

# Written for this generator: a parent and a grown child, about days, food, health, work and weather.
_STAR_PHRASES = (
    "밥은 먹었니",
    "오늘 날이 많이 춥다",
    "옷 따뜻하게 입고 다녀",
    "엄마는 괜찮아",
    "병원 다녀왔어 별일 없대",
    "김치 좀 담갔는데 가져갈래",
    "주말에 시간 되면 들러",
    "아빠가 너 보고 싶대",
    "회사 일은 할 만하니",
    "너무 무리하지 말고",
    "비 온다니까 우산 챙겨",
    "어제 시장에서 고등어 샀어",
    "된장찌개 끓여 놨다",
    "전화 좀 자주 해",
    "감기 조심하고",
    "잘 자 우리 아들",
    "약은 챙겨 먹고 있어",
    "동생한테도 연락 좀 해봐",
    "이번 명절엔 내려오니",
    "사진 잘 받았어 예쁘다",
    "할머니 산소에 다녀왔어",
    "텃밭에 상추가 많이 컸어",
    "요즘 허리가 좀 아프네",
    "돈 아껴 쓰고",
    "그래 알았어",
    "응",
    "고마워",
    "사랑해",
)
_USER_PHRASES = (
    "네 먹었어요",
    "엄마 뭐 해요",
    "오늘 좀 늦게 끝나요",
    "주말에 갈게요",
    "괜찮아요 걱정 마세요",
    "아빠는 잘 계시죠",
    "반찬 잘 먹고 있어요",
    "감기 다 나았어요",
    "회의가 길어져서요",
    "이따 전화드릴게요",
    "네",
    "알겠어요",
    "엄마도 조심하세요",
    "버스 타고 가는 중",
    "월급 들어왔어요",
    "다음 주에 휴가예요",
)
_TAILS = ("", "", "", "", " ㅋㅋ", " ㅎㅎ", "~", "!", "?", " ㅠㅠ", "..", " ❤️", " ^^")
_MEDIA = ("사진", "이모티콘", "사진 3장", "동영상")
_GAPS = (0, 0, 0, 1, 1, 2, 5, 12, 40, 90, 240, 600)


def _bubble(rng: random.Random, phrases: tuple[str, ...]) -> tuple[str, str]:
    roll = rng.random()
    if roll < 0.07:
        return "media", rng.choice(_MEDIA)
    if roll < 0.075:
        return "deleted", "삭제된 메시지입니다."
    parts = [rng.choice(phrases)]
    while rng.random() < 0.3:  # a long tail of longer bubbles
        parts.append(rng.choice(phrases))
    text = " ".join(parts) + rng.choice(_TAILS)
    if rng.random() < 0.02:
        text += "\n" + rng.choice(phrases)
    return "text", text


def family_chat(
    count: int, *, star_share: float = 0.6, seed: int = 11
) -> Iterator[KakaoMessage | SystemEvent]:
    """``count`` messages in bursts; ``star_share`` of them by ``STAR``; a join line every 20,000."""
    rng = random.Random(seed)
    when = datetime(2012, 5, 1, 7, 30)
    written = 0
    while written < count:
        star = rng.random() < star_share
        author, phrases = (STAR, _STAR_PHRASES) if star else (USER, _USER_PHRASES)
        when += timedelta(minutes=rng.choice(_GAPS))
        for _ in range(min(count - written, 1 + int(rng.expovariate(0.9)))):
            kind, text = _bubble(rng, phrases)
            yield KakaoMessage(time=when, author=author, kind=kind, text=text)  # type: ignore[arg-type]
            written += 1
            if written % 20_000 == 0:
                yield SystemEvent(time=when, text="이도현님이 들어왔습니다.")
            when += timedelta(minutes=rng.choice((0, 0, 1)))
