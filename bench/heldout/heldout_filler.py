"""Everyday filler for the held-out memory exports, written by hand for this set (reporting only).

Topics touch the planted memories' themes (the dog, hospitals, trips, kimchi, driving, moving) on
purpose, so that a search must find the specific exchange, not just the theme.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    user: tuple[str, ...]
    star: tuple[str, ...]


KO_TOPICS = (
    Topic(
        (
            "엄마 밥 먹었어?",
            "점심 뭐 먹었어",
            "저녁 뭐야 오늘",
            "나 방금 라면 먹었어 ㅋㅋ",
            "배고프다 집밥 먹고싶어",
        ),
        (
            "응 먹었지 너는?",
            "엄마는 대충 먹었어",
            "밥 꼭 챙겨먹어라",
            "오늘 된장찌개 끓였어",
            "라면만 먹지 말고 밥 먹어",
            "김치볶음밥 해먹었어 ㅎㅎ",
            "반찬 좀 보내줄까?",
            "굶지 말고~~",
        ),
    ),
    Topic(
        ("나 퇴근", "이제 집 가는 중", "오늘 야근이야 늦을 듯", "회사 너무 바빠 ㅠ", "팀장님이 또 일 줬어"),
        (
            "수고했어 우리 아들",
            "조심히 들어가",
            "너무 무리하지 마라",
            "저녁은 먹고 일해",
            "힘들면 쉬엄쉬엄 해",
            "고생 많다ㅠㅠ",
            "집에 도착하면 연락해",
        ),
    ),
    Topic(
        (
            "엄마 오늘 비 온대",
            "내일 엄청 춥대 엄마 따뜻하게 입어",
            "미세먼지 나쁨이래 마스크 써",
            "오늘 덥다 진짜",
        ),
        (
            "우산 챙겼어?",
            "너나 두껍게 입어 감기 걸린다",
            "엄마는 오늘 집에만 있을 거야",
            "빨래 널었는데 걷어야겠다",
            "창문 닫고 자",
            "마스크 있어 걱정 마",
        ),
    ),
    Topic(
        ("초롱이 잘 있어?", "초롱이 산책 시켰어?", "강아지 사진 좀 보내줘", "초롱이 보고싶다"),
        (
            "초롱이 지금 소파에서 자",
            "사진",
            "아침에 공원 한 바퀴 돌았어",
            "간식 달라고 난리야 ㅋㅋ",
            "털 깎아서 완전 아기 같아",
            "초롱이가 너 방 앞에서 기다려",
        ),
    ),
    Topic(
        ("엄마 병원 갔다 왔어?", "건강검진 결과 나왔어?", "엄마 감기 다 나았어?", "약 잘 챙겨 먹어"),
        (
            "응 별 이상 없대",
            "혈압이 좀 높대서 약 받아왔어",
            "감기 거의 다 나았어",
            "엄마 걱정은 하지 마",
            "피검사 했는데 괜찮대",
            "내과 갔다 왔어 소화가 안 돼서",
        ),
    ),
    Topic(
        ("이번 주말에 집에 갈게", "설에 언제 내려갈까", "추석 때 기차표 끊었어", "주말에 시간 돼?"),
        (
            "그래 와라 맛있는 거 해놓을게",
            "조심히 와",
            "차 막히니까 일찍 출발해",
            "뭐 먹고 싶은 거 있어?",
            "오면 전화해 역으로 나갈게",
            "엄마 토요일엔 교회 가",
        ),
    ),
    Topic(
        ("엄마 나중에 여행 가자", "휴가 때 어디 갈까", "엄마 가고 싶은 데 있어?"),
        (
            "엄마는 아무데나 좋아",
            "바다 보러 가고 싶다",
            "너 바쁜데 무슨 여행이야",
            "따뜻할 때 가자",
            "아빠랑 단풍 구경 가기로 했어",
            "꽃 필 때 가면 좋겠다",
        ),
    ),
    Topic(
        ("김치 떨어졌어 ㅠ", "엄마 반찬 잘 먹었어", "깍두기 진짜 맛있더라", "멸치볶음 또 해줘"),
        (
            "택배로 보낼게",
            "김치통 다 비우면 보내",
            "열무김치 담갔는데 보내줄까",
            "장조림도 같이 넣었어",
            "냉장고에 바로 넣어라",
            "맛있다니 다행이다 ㅎㅎ",
        ),
    ),
    Topic(
        ("ㅋㅋㅋㅋㅋ", "이모티콘", "엄마 이거 봐봐", "사진"),
        ("ㅎㅎㅎ", "이모티콘", "이게 뭐야ㅋㅋ", "귀엽네", "엄마는 잘 모르겠다", "재밌네 ㅎㅎ"),
    ),
    Topic(
        ("할머니 괜찮으셔?", "외할머니 댁 다녀왔어?", "할머니께 전화 드렸어"),
        (
            "할머니 요즘 입맛이 없으시대",
            "주말에 반찬 해서 다녀왔어",
            "할머니가 너 보고싶대",
            "전화 자주 드려",
            "할머니 무릎이 안 좋으셔서 걱정이다",
        ),
    ),
    Topic(
        ("차 엔진오일 갈았어", "나 오늘 운전해서 출근했어", "고속도로 너무 막혀"),
        (
            "천천히 다녀",
            "졸리면 휴게소에서 쉬어",
            "운전 조심해라 비 오는 날엔 특히",
            "아빠가 타이어 한번 보래",
            "주차 잘 했어?",
        ),
    ),
    Topic(
        ("엄마 생일 축하해!!", "엄마 뭐 갖고 싶어?", "어버이날 선물 보냈어"),
        (
            "고마워 우리 아들",
            "돈 쓰지 마 엄마는 다 있어",
            "카네이션 예쁘다 ㅎㅎ",
            "케이크 맛있게 먹었어",
            "너만 건강하면 돼",
        ),
    ),
    Topic(
        ("나 요즘 운동 시작했어", "헬스장 등록했어", "살 좀 빠졌어 ㅋㅋ"),
        (
            "잘했다 꾸준히 해",
            "무리하지 말고",
            "밥은 잘 먹으면서 해",
            "엄마도 아침에 걷기 해",
            "허리 조심해라",
        ),
    ),
    Topic(
        ("아빠는 뭐해?", "아빠 바꿔줘", "아빠 낚시 가셨어?"),
        (
            "아빠 티비 보셔",
            "아빠 산에 가셨어",
            "아빠는 또 바둑 두러 나갔어",
            "아빠가 너한테 전화하래",
            "아빠 오늘 기분 좋으시다ㅎㅎ",
        ),
    ),
    Topic(
        ("엄마 잘자", "나 잔다~", "내일 일찍 일어나야 돼"),
        ("그래 잘 자", "푹 자라", "이불 덮고 자", "엄마도 이제 잘게", "좋은 꿈 꿔"),
    ),
    Topic(
        ("이사 갈까 고민 중이야", "월세가 또 올랐어", "집 보러 다니는 중"),
        (
            "회사 가까운 데로 알아봐",
            "엄마가 조금 보태줄게",
            "햇빛 잘 드는 집으로 해",
            "급하게 정하지 마",
            "계약서 꼼꼼히 봐",
        ),
    ),
    Topic(
        ("동생은 연락 돼?", "지현이 취업했대?", "지현이랑 통화했어"),
        (
            "지현이 요즘 바쁘대",
            "면접 봤대 기다리는 중이야",
            "둘이 싸우지 마라",
            "동생 좀 챙겨",
            "지현이가 너 안부 묻더라",
        ),
    ),
    Topic(
        ("엄마 드라마 뭐 봐?", "그거 재밌어?", "엄마 유튜브 보는 법 알려줄까"),
        (
            "주말드라마 보지",
            "요즘 트로트 프로그램 재밌어",
            "엄마는 뉴스만 봐",
            "유튜브는 아빠가 더 잘 봐 ㅋㅋ",
            "어제 그거 보다가 울었어",
        ),
    ),
)

EN_TOPICS = (
    Topic(
        ("Hi Dad", "morning dad", "what are you up to", "you busy?", "how's your day going"),
        (
            "Hey kiddo",
            "Not much, watching the game",
            "Working in the yard",
            "Just got back from the store",
            "All good here",
            "Busy day, talk later?",
        ),
    ),
    Topic(
        ("work is crazy this week", "my manager is driving me nuts", "long day", "finally home"),
        (
            "Hang in there",
            "Don't let them work you to the bone",
            "Proud of you",
            "Get some rest tonight",
            "Eat something real, not just cereal",
            "Call me this weekend",
        ),
    ),
    Topic(
        ("how's Biscuit?", "send me a pic of the dog", "did you walk Biscuit today?"),
        (
            "He's asleep on your old bed",
            "Photo",
            "Took him to the park, he chased squirrels",
            "He misses you",
            "Got him a new chew toy",
            "He ate my sandwich when I turned around",
        ),
    ),
    Topic(
        ("did you go to the doctor?", "how's your back", "are you taking your meds?"),
        (
            "Doc says I'm fine",
            "Blood pressure is a bit high, cutting the salt",
            "Back is better, thanks",
            "Yes I'm taking them, stop nagging",
            "Got my flu shot",
        ),
    ),
    Topic(
        ("coming home for the weekend", "booked my flight for the holidays", "can you pick me up Friday?"),
        (
            "Great! I'll make chili",
            "Text me your flight number",
            "I'll be at the curb",
            "Drive safe, roads are icy",
            "Your room's ready",
        ),
    ),
    Topic(
        ("what's the weather like there", "it's snowing here!", "so hot today"),
        (
            "Cold and rainy",
            "Shoveled the driveway twice",
            "Hot as blazes, AC is on",
            "Nice out, grilling tonight",
            "Storm knocked a branch down",
        ),
    ),
    Topic(
        ("we should take a trip sometime", "where do you want to go this summer?", "I need a vacation"),
        (
            "Somewhere with a beach",
            "Your mom always wanted to see the mountains",
            "Maybe a road trip",
            "Let's plan it once things calm down",
            "I'm happy on the porch honestly",
        ),
    ),
    Topic(
        ("lol", "haha", "Emoticon", "look at this"),
        ("Ha!", "Emoticon", "That's funny", "I don't get it but ok", "Send more of those"),
    ),
    Topic(
        ("how's grandma?", "did you call grandma", "visited grandma today"),
        (
            "She's doing ok, a bit tired",
            "She asked about you",
            "Took her to church",
            "Call her, she'd love it",
            "Her garden is blooming",
        ),
    ),
    Topic(
        ("car is making a weird noise", "got an oil change", "got a flat tire"),
        (
            "Check the belt",
            "Don't drive on it, call me",
            "I'll take a look when you're home",
            "Good, keep up with maintenance",
            "Rotate the tires too",
        ),
    ),
    Topic(
        ("happy birthday dad!!", "what do you want for Father's Day?", "sent you a package"),
        (
            "Thanks sweetheart",
            "Don't spend money on me",
            "Just call me, that's enough",
            "Got it, love it",
            "You didn't have to",
        ),
    ),
    Topic(
        ("night dad", "going to bed", "early meeting tomorrow"),
        ("Night kiddo", "Sleep tight", "Love you", "Get some rest", "Talk tomorrow"),
    ),
    Topic(
        ("watching the game?", "did you see that score", "who's winning"),
        (
            "Refs are blind tonight",
            "We got robbed",
            "Great game!",
            "Your uncle owes me ten bucks",
            "I fell asleep in the third quarter",
        ),
    ),
    Topic(
        ("thinking of moving apartments", "rent went up again", "found a new place maybe"),
        (
            "Check the water pressure",
            "Make sure the neighborhood is safe",
            "I can help you move",
            "Read the lease carefully",
            "Is there parking?",
        ),
    ),
    Topic(
        ("what's for dinner", "I made your chili recipe", "cooking tonight"),
        (
            "Meatloaf",
            "Leftovers again",
            "How did it turn out?",
            "Add more cumin next time",
            "Grilled some burgers",
        ),
    ),
)
