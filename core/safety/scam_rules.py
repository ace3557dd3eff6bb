"""Fast scam / voice-phishing rules for Korean and English: compiled patterns plus keyword-in-context scores.

Each rule adds a weight under a reason code; the weights of one text are combined into a score in [0, 1].
Hard evidence (a card number that passes Luhn, a resident registration number, an OTP request) weighs 1.0 on
its own. Soft evidence (a bank name, a gift card mentioned in a memory) weighs little, so grief talk that
merely mentions money passes. Memories ("엄마가 용돈 보내주셨던", "she used to send me money") damp the
request rules, because a remembered transfer is not a request for one.
"""

# Keyword tables: Hangul counts double width for E501, and splitting alternations would hurt reading.
# ruff: noqa: E501

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.safety.text import (
    compact,
    digits_only,
    luhn_ok,
    normal_forms,
    plausible_birth_date,
    rrn_checksum_ok,
)
from core.safety.verdict import Role


def _rx(pattern: str) -> re.Pattern[str]:
    # ASCII word boundaries: Korean particles stick to English words ("usdt로", "otp번호"), and with
    # Unicode \w there would be no boundary between them.
    return re.compile(pattern, re.IGNORECASE | re.ASCII)


# --- Context words -------------------------------------------------------------------------------------
_URGENT = _rx(
    r"(급해|급하|급히|급전|당장|지금바로|지금 바로|빨리|오늘안에|오늘 안에|오늘까지|긴급|서둘러|얼른|\burgent|"
    r"\basap\b|right now|immediately|\bemergency\b|\bhurry\b|before it'?s too late|\bquickly\b|within (an|one|the) hour)"
)
_NARRATIVE = _rx(
    r"(예전에|옛날에|어릴 ?때|어렸을 ?때|그때|생각나|기억나|기억해|했었|했던|줬었|주셨|줬던|셨던|시던|주던|받았던|받았었|"
    r"잖아|돌아가시|장례|상속|유품|유산|정리하|정산|보내주셨|사주셨|\bused to\b|\bremember\b|when i was|back then|"
    r"years ago|as a kid|growing up|\bevery (birthday|christmas|month|year|week)|\bwould always\b|\balways said\b|\bused to say\b|\bfuneral\b|"
    r"\binheritance\b|\bestate\b|passed away|\bafter (she|he|mom|dad) died\b|\bmemories\b)"
)
_MONEY = _rx(
    r"(돈|현금|송금|이체|입금|계좌|통장|\d[\d,.]*\s*(만|천|백|억)?\s*원|[십백천만억]+\s*원|만원|\bmoney\b|\bcash\b|"
    r"\bfunds\b|\$\s?\d|\d\s*(dollars|bucks|usd|krw|won)\b|\bpayment\b|\bpay\b|\baccount\b)"
)
_BANK_CONTEXT = _rx(
    r"(은행|계좌|통장|예금주|카카오뱅크|카뱅|토스뱅크|케이뱅크|농협|신한|국민|새마을금고|신협|우체국|기업|하나|우리|"
    r"\baccount\b|\bacct\b|\bbank\b|\brouting\b|\biban\b|\bswift\b)"
)


@dataclass(slots=True)
class _Score:
    """Per-reason weights; the strongest evidence per reason counts."""

    weights: dict[str, float] = field(default_factory=dict)

    def add(self, reason: str, weight: float) -> None:
        self.weights[reason] = max(self.weights.get(reason, 0.0), weight)

    def total(self) -> float:
        # Independent soft evidence adds up; the product form keeps the total below 1 until a hard hit.
        remaining = 1.0
        for w in self.weights.values():
            remaining *= 1.0 - min(w, 1.0)
        return round(1.0 - remaining, 4)


# --- Numbers -------------------------------------------------------------------------------------------
_RRN = re.compile(r"(?<!\d)(\d{6})\s?[-–]\s?([1-8]\d{6})(?!\d)|(?<!\d)(\d{6})([1-8]\d{6})(?!\d)")
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_GROUPED = re.compile(r"(?<![\d-])\d{2,6}(?:[- ]\d{2,8}){1,4}(?![\d-])")
_RUN = re.compile(r"(?<!\d)\d{10,14}(?!\d)")
_PHONE = re.compile(r"^(0\d{1,2}[- ]?\d{3,4}[- ]?\d{4}|1[5-9]\d{2}[- ]?\d{4})$")
_SPELLED_KO = re.compile(r"[공영일이삼사오육칠팔구]{7,}")
_SPELLED_EN = _rx(r"\b(?:(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)[\s,-]+){6,}")


def _number_rules(n: str, s: _Score, role: Role) -> None:
    taken: list[tuple[int, int]] = []
    for m in _RRN.finditer(n):
        head, tail = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        hyphen = m.group(1) is not None
        if plausible_birth_date(head) and (hyphen or rrn_checksum_ok(head + tail)):
            s.add("resident_id", 1.0)
            taken.append(m.span())
    for m in _CARD.finditer(n):
        if any(a <= m.start() < b for a, b in taken):
            continue
        digits = digits_only(m.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            s.add("card_number", 1.0)
            taken.append(m.span())
        elif len(digits) == 16 and re.search(r"(카드|card|visa|master|amex)", n):
            s.add("card_number", 0.8)
            taken.append(m.span())
    bank = _BANK_CONTEXT.search(n) is not None
    for m in _GROUPED.finditer(n):
        if any(a <= m.start() < b for a, b in taken) or _PHONE.match(m.group()):
            continue
        count = len(digits_only(m.group()))
        if 10 <= count <= 16 and "-" in m.group():
            s.add("account_number", 1.0 if bank else 0.9)
        elif 10 <= count <= 16 and bank:
            s.add("account_number", 0.9)
    for m in _RUN.finditer(n):
        if any(a <= m.start() < b for a, b in taken) or _PHONE.match(m.group()):
            continue
        s.add("account_number", 1.0 if bank else 0.5)
    if _SPELLED_KO.search(compact(n)) or _SPELLED_EN.search(n):
        # Digits read out as words: how an account number sounds in a voice message.
        s.add("account_number", 0.9 if bank else 0.5)
    if role == "speech" and re.search(r"\d{6,}", n.replace(" ", "").replace("-", "")):
        s.add("digit_sequence", 0.5)


# --- Keywords in context ---------------------------------------------------------------------------------
_ACCOUNT_ASK = _rx(
    r"(계좌|통장)(번호)?(를|을|좀|만)?(알려|불러|보내|적어|찍어|줘|주세요|로보내|로입금|로송금|로이체|에입금|로넣|에넣|로부쳐)|"
    r"(안전|보호|국가안전)계좌|대포통장|(통장|계좌)(으로|로)?(좀)?(받아줘|받아줄|받아주|빌려|대신받)|"
    r"\b(account|routing|bank) (number|details|info)\b|\bbank details\b|\b(your|the) (account|bank) (no|#)"
)
_TRANSFER_KO = _rx(
    r"(송금|이체|입금)(을|를)?(좀|만|바로|지금|빨리|얼른)?(해|하|시켜|처리|부탁|요망|바람|바랍|가능|할수|할 수|좀|부탁)|"
    r"([0-9]+|[일이삼사오육칠팔구십백천]+)(만|천|백)?원?(만|을|를)?(입금|송금|이체|보내)|"
    r"(돈|현금|금액|원|만원|[0-9]+만|용돈|비용)(을|를|좀|만|이라도|도)?(빨리|얼른|당장|바로|지금)?"
    r"(보내|부쳐|붙여|넣어|빌려|꿔|입금|송금|이체)(줘|주세요|주실|줄래|줄수|줄 수|주라|달라|라|요\?|주면|야 ?해|야돼|야 돼)"
)
_TRANSFER_EN = _rx(
    r"\b(send|wire|transfer|deposit|lend|loan|venmo|zelle|paypal|cash ?app)\b(\s+\w+){0,3}?\s*"
    r"(\$\s?\d|\d[\d,]*\s*(dollars|bucks|usd|won|krw)\b|money|cash|funds|the payment|it to (my|this|the|our) account)|"
    r"\b(wire|bank|money) transfer\b|\b(transfer|send|deposit|move) (it |the money |them |the funds )?(to|into) "
    r"(my|this|that|the following|our|a safe|a new|a secure) (account|wallet)"
)
_NEGATED_EN = _rx(r"(\bnever|\bdon'?t|\bdidn'?t|\bnot|\bwon'?t)\s+(\w+\s+)?$")
_CARD_ASK = _rx(
    r"카드번호(를|좀)?(알려|불러|보내|적어|찍어|줘)|카드(앞|뒷)면(을)?(찍어|보내)|"
    r"\b(give|send|tell|read|need|share|enter|type)\b.{0,20}\b(card|credit card|debit card) (number|details|info)\b"
)
_GIFT = _rx(
    r"(문화상품권|상품권|문상|기프트카드|기프트 카드|구글기프트|구글 기프트|구글플레이카드|구글 플레이 카드|구글카드|"
    r"아이튠즈|앱스토어카드|틴캐시|해피머니|컬처랜드|컬쳐랜드|북앤라이프|\bgift ?cards?\b|\bitunes (gift )?cards?\b|"
    r"\bgoogle play (gift )?cards?\b|\bsteam (gift )?cards?\b|\bamazon (gift )?cards?\b|\bapple gift cards?\b)"
)
_CRYPTO = _rx(
    r"(비트코인|이더리움|테더|리플|가상화폐|암호화폐|코인으로|코인 지갑|지갑주소|지갑 주소|\busdt\b|\bbitcoins?\b|"
    r"\bbtc\b|\bcrypto(currency)?\b|\bethereum\b|\btether\b|\bwallet address\b)"
)
_PAY_VERB = _rx(
    r"(사서|사와|사다|구매|구입|결제|보내|부쳐|충전|입금|송금|번호|핀|코드|찍어|긁어|알려|불러|"
    r"\bbuy\b|\bpurchase\b|\bsend\b|\bpay\b|\bcodes?\b|\bscratch\b|\bphotos? of\b|\bpin\b|\bnumbers?\b|\bredeem\b|"
    r"\btransfer\b)"
)
_OTP = _rx(
    r"(인증번호|인증코드|인증문자|보안카드|\botp\b|일회용비밀번호|일회용 비밀번호|승인번호|문자로?온(거|것|번호|숫자|코드)|(뒷면|뒷번호|뒷자리) ?(세|3) ?자리|"
    r"\bone[- ]time (pass)?(code|password|pin)\b|\bverification code\b|\bsecurity code\b|\bauth(entication)? code\b|"
    r"\b2fa code\b|\bconfirmation code\b|\b(3|three) digits on the back\b|\bcode (we|i|they) (just )?(sent|texted)\b|\bcvv\b|\bcvc\b)"
)
_SECRET = _rx(
    r"(비밀번호|비번|패스워드|핀번호|공인인증서|공동인증서|\bpasswords?\b|\bpasscode\b|\bpin( code| number)?\b|"
    r"\bpassphrase\b|\blogin details\b|\bcredentials\b)"
)
_SECRET_ASK = _rx(
    r"(알려|불러|말해|보내|적어|입력|뭐야|뭐였|뭔지|줘|주세요|찍어|\btell\b|\bgive\b|\bsend\b|\bshare\b|"
    r"\bwhat('?s| is| was)\b|\benter\b|\btype\b|\bread\b|\bneed\b|\bconfirm\b|\bprovide\b|\bverify\b|\bis\b\s*\d|"
    r"[는은:=]\s*\d{4,})"
)
_RRN_WORD = _rx(
    r"(주민등록번호|주민번호|주민 ?등록 ?번호|\bssn\b|social security number|resident registration number)"
)
_LOAN = _rx(
    r"(급전|대출(이)?(가능|승인|한도|상담|신청|받으|해드|진행|필요|해줄|해 줄)|저금리|대환대출|돈이급|급하게돈|"
    r"돈(좀|을)?빌려|빌려(줘|주세요|줄래|줄수|줄 수|달라)|합의금|보석금|\bpayday loan\b|\bloan (is )?approved\b|"
    r"\bpre-?approved\b|\bneed (some |the )?money (urgently|fast|now|today|right now)\b|\blend me\b|"
    r"\bborrow (some )?money\b|\bbail money\b|\burgent payment\b|\bpay (the )?(fine|fee|bail|deposit) (now|today|immediately)\b)"
)
_LOAN_PRESSURE = _rx(r"(오늘|수수료|선입금|보증금|\btoday\b|\bfees?\b|\bdeposit\b|\bupfront\b)")
_INSTITUTION = _rx(
    r"(검찰|지검|검사입니다|담당검사|금융감독원|금감원|금융위|경찰청|경찰서|사이버수사|수사관|수사과|국세청|"
    r"은행(고객센터|보안팀|직원|입니다|에서연락)|카드사|\bpolice\b|\bfbi\b|\birs\b|\bprosecutor|\bdistrict attorney\b|"
    r"\bfraud (department|team)\b|\bsecurity team\b|\bsocial security administration\b|\bcustoms\b|\bsheriff\b|"
    r"\bdetective\b|\bfederal agent\b|\byour bank\b)"
)
_SELF_ID = _rx(
    r"(입니다|이에요|인데요|에서연락|에서전화|에서알려|소속|\bthis is (the )?|\bi am (a |an |the )?|\bi'm (a |an |the )?|"
    r"\bcalling from\b|\bwe are (the )?|\bon behalf of\b)"
)
_CASE = _rx(
    r"(사건|연루|명의도용|명의 도용|범죄|피의자|조사|계좌동결|계좌 동결|체포|영장|출석|자금세탁|대포통장|보안조치|안전조치|"
    r"\bcase\b|\bwarrant\b|\barrest|\binvestigation\b|\bsuspended\b|\bfrozen\b|\bmoney laundering\b|"
    r"\bidentity theft\b|\bsafe account\b|\bverify your\b|\bcompromised\b|\bsuspicious activity\b)"
)
_URL = _rx(
    r"(https?://\S+|www\.\S+|\b[a-z0-9-]+\.(ly|gl|me|do|io|kr|link|app|xyz|top|site|la|gd|co|com|net|org)/\S*)"
)
_PAY_URL = _rx(
    r"(bit\.ly|tinyurl|t\.co/|goo\.gl|han\.gl|me2\.do|vo\.la|is\.gd|buly\.kr|url\.kr|qrco\.de|toss\.me|kakaopay|"
    r"paypal\.me|venmo|cash\.app|pay|transfer|remit|wallet|bank|login|verify|account|auth)"
)
_VOICE_ASK = _rx(
    r"(따라|그대로|똑같이)(말해|읽어|해봐|불러|녹음)|읽어(줘|주세요|봐)|녹음해(줘|주세요)|목소리로|음성으로|보이스로|"
    r"\bsay (this|after me|these words|exactly)\b|\brepeat after me\b|\bread (this|it|these|the following) (out|aloud)\b|"
    r"\bin your voice\b|\brecord (yourself|a voice|this)\b|\bvoice (note|message|memo) (saying|that says)\b"
)


def _near(text: str, first: re.Pattern[str], second: re.Pattern[str], window: int = 20) -> bool:
    """Whether a match of ``second`` lies within ``window`` characters of a match of ``first``."""
    for m in first.finditer(text):
        lo, hi = max(0, m.start() - window), min(len(text), m.end() + window)
        if second.search(text[lo:hi]):
            return True
    return False


def _keyword_rules(n: str, c: str, s: _Score) -> None:
    # Without gaps between Hangul syllables both forms are one text: search it once.
    both = (c,) if c == n else (c, n)

    def found(rx: re.Pattern[str]) -> bool:
        return any(rx.search(x) for x in both)

    if found(_ACCOUNT_ASK):
        s.add("account_number", 0.9)
    if _TRANSFER_KO.search(c) or any(
        not _NEGATED_EN.search(n[: m.start()]) for m in _TRANSFER_EN.finditer(n)
    ):
        s.add("transfer_request", 0.9)
    if found(_CARD_ASK):
        s.add("card_number", 0.9)
    for reason, rx in (("gift_card", _GIFT), ("crypto", _CRYPTO)):
        if found(rx):
            asked = _near(c, rx, _PAY_VERB, 25) or _near(n, rx, _PAY_VERB, 30)
            s.add(reason, 0.9 if asked else 0.25)
    if found(_OTP):
        asked = _near(c, _OTP, _SECRET_ASK) or _near(n, _OTP, _SECRET_ASK) or bool(re.search(r"\d{4,8}", n))
        s.add("otp", 1.0 if asked else 0.7)
    if found(_SECRET):
        asked = _near(c, _SECRET, _SECRET_ASK, 15) or _near(n, _SECRET, _SECRET_ASK, 32)
        s.add("password", 0.9 if asked else 0.3)
    if found(_RRN_WORD):
        asked = _near(c, _RRN_WORD, _SECRET_ASK, 15) or _near(n, _RRN_WORD, _SECRET_ASK, 20)
        s.add("resident_id", 0.9 if asked else 0.3)
    loans = {m.group() for x in both for m in _LOAN.finditer(x)}
    if loans:
        # A loan offer or plea plus urgency, a fee or a second loan cue is the classic pattern.
        pressed = len(loans) > 1 or _URGENT.search(c) or _LOAN_PRESSURE.search(n)
        s.add("urgent_loan", 0.9 if pressed else 0.7)
    if _URGENT.search(c) and _MONEY.search(c):
        s.add("urgent_loan", 0.6 if _near(c, _URGENT, _MONEY, 25) else 0.3)
    if found(_INSTITUTION):
        self_id = _near(c, _INSTITUTION, _SELF_ID, 12) or _near(n, _INSTITUTION, _SELF_ID, 14)
        case = found(_CASE)
        s.add("impersonation", 1.0 if (self_id and case) else 0.8 if (self_id or case) else 0.2)


def _link_rules(n: str, s: _Score, role: Role) -> None:
    money = _MONEY.search(_URL.sub(" ", n)) is not None  # the link's own path is not money context
    for m in _URL.finditer(n):
        paylike = _PAY_URL.search(m.group()) is not None
        if paylike and money:
            s.add("payment_link", 1.0)
        elif paylike or (money and role != "user"):
            s.add("payment_link", 0.6)
        elif role != "user":
            s.add("payment_link", 0.35)


_DAMPED = {
    "transfer_request": 0.45,
    "gift_card": 0.3,
    "crypto": 0.3,
    "urgent_loan": 0.4,
    "password": 0.5,
    "impersonation": 0.5,
    "resident_id": 0.5,
}


def score_text(text: str, role: Role = "user") -> tuple[float, tuple[str, ...]]:
    """Score ``text`` with the rules: ``(score, reasons ordered by weight)``."""
    n, c = normal_forms(text)
    s = _Score()
    _number_rules(n, s, role)
    _keyword_rules(n, c, s)
    _link_rules(n, s, role)
    if s.weights and _NARRATIVE.search(c) and not _URGENT.search(c):
        # A remembered payment is not a request for one; hard evidence (numbers, OTP) is never damped.
        for reason, factor in _DAMPED.items():
            if reason in s.weights and s.weights[reason] < 1.0:
                s.weights[reason] *= factor
    if s.weights and _VOICE_ASK.search(c) and s.total() >= 0.25:
        s.add("voice_misuse", 0.6)
    reasons = tuple(r for r, _ in sorted(s.weights.items(), key=lambda kv: -kv[1]) if s.weights[r] >= 0.25)
    return s.total(), reasons
