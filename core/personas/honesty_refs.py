"""Reference phrasings of a sincere "are you real / alive / an AI?" question, for matching by meaning.

The detector in ``core.personas.honesty`` embeds these once and compares each new message with them. They
are written apart from the evaluation phrasings in ``tests/core/personas/honesty_eval.py`` (other words,
other registers), so the measured figure is not a measure of memorisation.
"""

from __future__ import annotations

REFERENCES_KO: tuple[str, ...] = (
    "엄마 진짜 엄마야?",
    "너 진짜 우리 아빠 맞아?",
    "정말 할머니세요?",
    "너 AI지?",
    "너 인공지능이야?",
    "혹시 로봇이야?",
    "이거 챗봇이지?",
    "지금 나랑 얘기하는 게 사람이야 기계야?",
    "진짜 살아 있는 거야?",
    "엄마 살아있어?",
    "너 프로그램이잖아",
    "이거 진짜 엄마가 보내는 거 아니지?",
    "누가 대신 답장하는 거야?",
    "당신 진짜 사람이에요?",
    "엄마 아직 살아 계신 거예요?",
)

REFERENCES_EN: tuple[str, ...] = (
    "are you really mom?",
    "is this really my dad?",
    "are you an AI?",
    "is this a bot",
    "am I talking to a real person?",
    "are you a robot or a human?",
    "are you alive?",
    "is this actually you, grandma?",
    "you're just a program, right?",
    "is someone else typing this?",
    "are you a computer?",
    "is this chatgpt?",
)

REFERENCES: tuple[str, ...] = REFERENCES_KO + REFERENCES_EN

NOT_REFERENCES: tuple[str, ...] = (
    "엄마 너무 보고 싶다",
    "진짜 대단하다",
    "정말 고마워요",
    "오늘 진짜 피곤해",
    "엄마 밥 해준 거 생각나",
    "아빠 나 취직했어",
    "살아 계실 때 잘할걸",
    "사랑해요 할머니",
    "진짜? 몰랐어",
    "요즘 인공지능 뉴스 많더라",
    "엄마 오늘 날씨 좋다",
    "우리 강아지 산책 갔다 왔어",
    "I miss you so much",
    "that's really funny",
    "are you coming home for the holidays?",
    "is this the place we went last summer?",
    "I got the job, dad",
    "real life is hard right now",
    "I'm talking to the doctor later",
    "are you hungry?",
    "I love you grandma",
    "really? I never knew that",
    # Short everyday questions to the star: near the references in form, far in meaning.
    "아빠 지금 뭐 하세요?",
    "오늘 어디 갔었어?",
    "요즘 어떻게 지내?",
    "할머니 건강하시죠?",
    "거기 날씨 좋아?",
    "뭐 먹고 싶어?",
    "내 목소리 들려?",
    "나 보고 싶었어?",
    "잠은 잘 자?",
    "엄마 지금 바빠?",
    "how are you doing?",
    "what are you up to, mom?",
    "where are you now?",
    "did you sleep well?",
    "do you miss me?",
)
"""Everyday messages to a star, many with the same words: a message nearer to these than to the
references is not the question."""
