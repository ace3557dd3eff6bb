"""Evaluation phrasings for the "are you real / alive / an AI?" detector, written apart from its rules and
references (other words, registers, typos, slang). TUNE chose the similarity threshold; HELD_OUT is only
measured. Negatives are everyday messages to a star, many with the same words (진짜, 엄마, real, really).
"""

from __future__ import annotations

TUNE_POSITIVE: tuple[str, ...] = (
    "엄마 맞아? 진짜로?",
    "혹시 사람 아니고 컴퓨터가 대답하는 거야?",
    "너 그냥 AI 아냐?",
    "아빠 정말 아빠 맞으세요?",
    "이거 누가 만든 프로그램이지",
    "할머니 아직 살아계신 거 맞죠?",
    "솔직히 말해봐 너 봇이지",
    "r u a bot",
    "wait are you actually my mom",
    "is this an ai pretending to be dad",
    "be honest, are you real?",
    "am i chatting with a machine right now",
    "are you even alive",
    "ur not really her are u",
)

TUNE_NEGATIVE: tuple[str, ...] = (
    "엄마 진짜 보고 싶어",
    "진짜야? 대박",
    "오늘 회사에서 진짜 힘들었어",
    "엄마 김치찌개 진짜 맛있었는데",
    "아빠 나 합격했어!",
    "요즘 AI 때문에 회사가 난리야",
    "살아있는 동안 더 잘해드릴걸",
    "엄마 사랑해",
    "i really miss you mom",
    "are you coming to dinner tomorrow?",
    "is this the recipe you used?",
    "that was a real surprise",
    "i'm talking to my boss tomorrow",
    "really? that's funny",
    # Short everyday questions (added after they were found flagged in a chat test; tuned on).
    "엄마 뭐해?",
    "엄마 어디야?",
    "엄마 잘 지내?",
    "엄마 거기는 어때?",
    "엄마 내 말 듣고 있어?",
    "엄마 뭐 필요한 거 있어?",
)

HELD_OUT_POSITIVE: tuple[str, ...] = (
    "엄마... 이거 진짜 엄마 맞는 거지?",
    "당신 누구야? 사람이야?",
    "나 지금 로봇이랑 얘기하고 있는 거야?",
    "이거 인공지능이 쓰는 거 맞지",
    "아빠 진짜 살아 있어?",
    "혹시 기계가 대답하는 건가요",
    "너 챗GPT 같은 거지",
    "엄마 아니지 너",
    "이게 진짜 우리 할머니예요?",
    "진짜 형 맞냐",
    "are you really my dad?",
    "is this a chatbot",
    "are u human",
    "who am i actually talking to, a computer?",
    "Mom, is that really you?",
    "this is just software, isn't it",
    "are you actually alive somewhere?",
    "Are you an artificial intelligence?",
    "is grandpa really the one texting me",
    "you're not real, are you?",
)

HELD_OUT_NEGATIVE: tuple[str, ...] = (
    "엄마 진짜 고마웠어",
    "진짜 맛있다 이거",
    "엄마 나 오늘 시험 봤어",
    "정말 오랜만이다",
    "아빠 생각 많이 나",
    "할머니 댁 가는 길이야",
    "그때 진짜 재밌었는데 기억나?",
    "로봇청소기 새로 샀어",
    "엄마가 살아 있었으면 좋았을 텐데",
    "밥 먹었어?",
    "are you proud of me?",
    "I really did it, mom",
    "is this the song you liked?",
    "real talk, I'm tired today",
    "do you remember the beach?",
    "I wish you were here",
    "my friend built a robot at school",
    "are you cold?",
    "are you kidding me, it's snowing again",
    "the doctor said it's real good news",
)

# A second held-out set, written after the rules and threshold were final and measured once.
HELD_OUT_2_POSITIVE: tuple[str, ...] = (
    "할머니 맞으세요? 아니면 기계예요?",
    "이거 사람이 답하는 거 아니지?",
    "엄마, 너 혹시 인공지능이니",
    "아빠라고 하는데 진짜 아빠 맞는지 모르겠어",
    "나 지금 AI한테 말 거는 거야?",
    "are you a real human being",
    "mom is that actually you texting me",
    "am I just talking to a program",
    "tell me the truth, are you a bot?",
    "is this some kind of AI thing",
)
HELD_OUT_2_NEGATIVE: tuple[str, ...] = (
    "엄마 보고싶어서 왔어",
    "진짜 오랜만에 비 온다",
    "아빠 그때 그 노래 기억나?",
    "오늘 회사에서 AI 교육 받았어",
    "할머니 밥은 드셨어요?",
    "my computer broke again",
    "are you happy where you are?",
    "I really need a hug today",
    "is this how you made the kimchi?",
    "you were always so real with me",
)

# Short everyday questions, written after the fix above and measured once.
HELD_OUT_3_NEGATIVE: tuple[str, ...] = (
    "아빠 오늘 뭐 했어?",
    "할머니 식사하셨어요?",
    "엄마 거기 추워?",
    "우리 강아지 기억나?",
    "엄마 나 잘하고 있는 거지?",
    "아빠 나 보여?",
    "엄마 언제 와?",
    "what did you have for lunch?",
    "are you okay, dad?",
    "can you hear me, mom?",
)
