"""Crisis hand-off: notice self-harm or suicidal intent in a user's message and answer out of character.

Rules for Korean and English cover direct statements ("죽고 싶어", "kill myself"), indirect ones ("사라지고
싶다", "엄마 곁으로 가고 싶어", "I don't want to be here anymore") and preparations ("약을 모으고 있어").
Hyperbole ("배고파 죽겠다", "this traffic is killing me") never matches a pattern, and the few patterns that
hyperbole can reach ("창피해서 죽고 싶었어", "want to die of embarrassment") are vetoed by their context.
A lone weak signal ("더 이상 못 버티겠어") is borderline: a configured model decides, otherwise it passes.
"""

# Keyword tables: Hangul counts double width for E501, and splitting alternations would hurt reading.
# ruff: noqa: E501

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from core.domain.identity import Locale
from core.i18n import t
from core.ports import ChatModel
from core.safety.classifier import classify
from core.safety.text import normal_forms
from core.safety.verdict import SafetyVerdict


def _rx(pattern: str) -> re.Pattern[str]:
    # ASCII word boundaries: Korean particles stick to English words ("usdt로", "otp번호"), and with
    # Unicode \w there would be no boundary between them.
    return re.compile(pattern, re.IGNORECASE | re.ASCII)


# (reason, weight, pattern). Korean patterns run on the compact form (gaps between syllables removed).
_KO_RULES: tuple[tuple[str, float, re.Pattern[str]], ...] = (
    (
        "suicidal",
        1.0,
        _rx(
            r"죽고싶|죽어버리고싶|죽어버릴까|죽어야겠|죽는게(나을|낫|편할)|차라리죽|죽으면(편할|끝|다)|"
            r"죽을(생각|거야|래요|게요|려고)|살고싶지않|살기싫|사는게싫|살이유가없|살아갈이유가없|"
            r"살아야할이유가없|살아서뭐해|살아서뭐하|삶을끝|인생을끝|목숨을끊|생을마감"
        ),
    ),
    ("suicidal", 1.0, _rx(r"자살(하고싶|할까|하려|할거|할생각|충동|시도|하고말|해버릴|을생각|을해야)")),
    (
        "indirect",
        1.0,
        _rx(
            r"사라지고싶|없어지고싶|사라져버리고싶|없어져버리고싶|사라져버릴까|없어져버릴까|소멸하고싶|"
            r"(다|모든걸|모든것을|이제그만|전부)끝내고싶|끝내버리고싶|모든걸끝내|"
            r"눈을?안떴으면|눈을?안뜨고싶|눈을?뜨지않았으면|깨어나지않았으면|깨지않았으면|깨지말았으면|안깨어났으면|"
            r"영원히잠들고싶|내일이안왔으면|"
            r"나하나없어도|나없으면(다들|모두|다)?(편할|행복할|나을)"
        ),
    ),
    (
        "join_deceased",
        1.0,
        _rx(
            r"(곁으로|옆으로|있는곳으로|있는데로|계신곳으로|따라)가고싶|따라가고싶|곧따라갈게|따라(갈까|갈래|갈게|가야겠|가도돼)|"
            r"따라죽|같이죽(자|을래|어요|읍시다)|함께죽(자|을래)|나도데려가|데려가(줘|주세요|줄래)|나도곧갈게|곧(엄마|아빠)?(곁|옆)으로갈게"
        ),
    ),
    (
        "suicide_plan",
        1.0,
        _rx(
            r"(?<![예절계공])약(?![간속])(을|은|도)?(거의|다|좀|많이|몰래|계속|조금씩|한달치|전부|벌써){0,3}모(으|아|았)|"
            r"수면제(를|는|도)?(거의|다|좀|많이|몰래|계속|조금씩|한달치|전부|벌써){0,3}(모으|모아|모았|많이먹|한꺼번에|다먹|사모)|"
            r"약을?(한꺼번에|다|왕창)먹|번개탄|연탄(을)?피우|유서(를)?(썼|쓰|써|남기)|목을?매|"
            r"뛰어내리|투신|한강(에)?(뛰어|들어가)|옥상(에)?(올라가서|서)뛰|"
            r"(다리|대교)(위|난간)(에)?(서있|올라와|서서|앉아)|옥상(에)?(올라왔|서있|올라가는중)|난간(에|을)?(서있|앉아|잡고|넘)"
        ),
    ),
    (
        "self_harm",
        1.0,
        _rx(r"자해|손목(을)?(긋|그었|그을|그어)|칼로(나를|내몸|팔을)|(내|제)?몸(을)?(상처|해치)"),
    ),
    (
        "hopelessness",
        0.6,
        _rx(
            r"더(는|이상)?못버티|버틸수가없|버틸자신이없|버틸힘이없|살아갈자신이없|아무의미가없|"
            r"사는게의미가없|살아있는게(힘들|지옥|고통)|자살|살기힘들어죽"
        ),
    ),
)
_EN_RULES: tuple[tuple[str, float, re.Pattern[str]], ...] = (
    (
        "suicidal",
        1.0,
        _rx(
            r"\bkill(ing)? myself\b|\bend(ing)? my (own )?life\b|"
            r"\btake my (own )?life\b|\bsuicid(e|al)\b|\b(want|wanna|wanted|going|ready|deserve) to die\b|"
            r"\bwish i (was|were) dead\b|\bbetter off (dead|without me)\b|"
            r"\bno (reason|point) (to live|in living|to go on|in going on)\b|\b(any|no) reason to (keep )?(living|live|go on)\b|"
            r"\bhow many (pills|tablets|sleeping pills) (it )?(would|will|does) (it )?take\b|\b(want|going|ready|plan|"
            r"planning|need) to end it\b|\bend it all\b|\bdon'?t want to (live|be alive|exist)\b"
        ),
    ),
    (
        "indirect",
        1.0,
        _rx(
            r"\bdon'?t want to (be here|wake up)( anymore| tomorrow| ever again)?\b|\bstop existing\b|"
            r"\bdisappear (forever|for good)\b|\bnot (to )?wake up\b|\bwon'?t be (around|here) (much "
            r"longer|for long|tomorrow)\b|\beveryone would be better off\b|\bnobody would miss me\b"
        ),
    ),
    (
        "join_deceased",
        1.0,
        _rx(
            r"\b(want|going|ready) to (join|be with) (you|her|him|them|mom|dad)( again)?( soon| there|"
            r" up there| in heaven)?\b|\btake me with you\b|\bcome (and )?take me\b|"
            r"\bi'?ll (join|see) you soon\b|\blet'?s die together\b|\bdie together\b|\bgo where you (are|went)\b"
        ),
    ),
    (
        "suicide_plan",
        1.0,
        _rx(
            r"\b(saving|stockpiling|collecting|hoarding|saved up) (up )?(my |some |all my )?(pills|meds|"
            r"medication|sleeping pills|painkillers)\b|\boverdos(e|ing)\b|\bhang(ing)? myself\b|"
            r"\bjump(ing)? (off|from) (a|the) (bridge|roof|building|balcony)\b|"
            r"\b(standing|sitting) on (a|the) (bridge|ledge|roof|edge)\b|\bon the (roof|ledge|bridge) (right )?now\b|"
            r"\b(wrote|writing|written) (a|my) (suicide|goodbye) (note|letter)\b|\bgoodbye letter\b"
        ),
    ),
    (
        "self_harm",
        1.0,
        _rx(
            r"\b(hurt|harm|cut|cutting|burn|burning|hurting|harming) myself\b|\bself[- ]harm|"
            r"\bstarted cutting again\b"
        ),
    ),
    (
        "hopelessness",
        0.6,
        _rx(
            r"\bcan'?t go on\b|\bcan'?t do this anymore\b|\bcan'?t take (it|this) anymore\b|"
            r"\bno way out\b|\bwhat'?s the point of (living|anything|life)\b|\bgive up on (life|"
            r"everything)\b|\bthere'?s nothing left for me\b"
        ),
    ),
)
# Context that turns a match into hyperbole or a denial.
_KO_HYPERBOLE = _rx(
    r"(창피|쪽팔|부끄러|민망|웃겨|웃기|배고파|배불러|졸려|더워|추워|귀찮|심심)(해|서|워|해서|워서)?$"
)
_KO_DENIAL = _rx(r"^(진|지는|지|은건|은게|다는건|다는게|단건|단게|다는말은)?(않|아니|안)")
_EN_HYPERBOLE = _rx(
    r"^\s*(of|from) (embarrassment|laughter|laughing|shame|cringe|boredom)|^\s*laughing|"
    r"^\s*(my|your|her|his|the) hair|^\s*for\b"
)
# "n't" needs its apostrophe (or a known contraction): "want" must not read as a denial.
_EN_DENIAL = _rx(r"(\bnot|n't|\b(dont|cant|wont|didnt)|\bnever|\bno)\s+$")


@dataclass(frozen=True, slots=True, kw_only=True)
class CrisisResources:
    """Help lines per locale: ``{"ko": [(name, number), ...]}``; settings may override the defaults."""

    help_lines: Mapping[str, Sequence[tuple[str, str]]] = field(default_factory=dict)

    def lines_for(self, locale: Locale | str) -> list[tuple[str, str]]:
        """The configured lines for ``locale``, or the built-in ones (Korea 109 and 1577-0199, US 988)."""
        loc = Locale(locale)
        configured = self.help_lines.get(loc.value)
        return [tuple(x) for x in configured] if configured else default_help_lines(loc)  # type: ignore[misc]


def default_help_lines(locale: Locale | str) -> list[tuple[str, str]]:
    """Built-in help lines: Korean users get the Korean lines; English users the US line first, then Korea's."""
    loc = Locale(locale)
    korea = [
        (t(loc, "safety.crisis.line_kr_109"), "109"),
        (t(loc, "safety.crisis.line_kr_1577"), "1577-0199"),
    ]
    if loc == Locale.KO:
        return korea
    return [(t(loc, "safety.crisis.line_us_988"), "988"), *korea]


def crisis_reply(locale: Locale | str, resources: CrisisResources | None = None) -> str:
    """The out-of-character reply: it is an AI, it cares, and here is where to get help now."""
    lines = (resources or CrisisResources()).lines_for(locale)
    listed = "\n".join(t(locale, "safety.crisis.line", name=name, number=number) for name, number in lines)
    return t(locale, "safety.crisis.reply", lines=listed)


def _vetoed(text: str, match: re.Match[str], english: bool) -> bool:
    before, after = text[max(0, match.start() - 12) : match.start()], text[match.end() : match.end() + 24]
    if english:
        return bool(_EN_HYPERBOLE.search(after) or _EN_DENIAL.search(before))
    return bool(_KO_HYPERBOLE.search(before) or _KO_DENIAL.search(after))


def score_crisis(text: str) -> tuple[float, tuple[str, ...]]:
    """Rule score in [0, 1] and the reason codes found."""
    weights: dict[str, float] = {}
    normal, compacted = normal_forms(text)
    for rules, form, english in ((_KO_RULES, compacted, False), (_EN_RULES, normal, True)):
        for reason, weight, rx in rules:
            if any(not _vetoed(form, m, english) for m in rx.finditer(form)):
                weights[reason] = max(weights.get(reason, 0.0), weight)
    remaining = 1.0
    for w in weights.values():
        remaining *= 1.0 - w
    reasons = tuple(r for r, _ in sorted(weights.items(), key=lambda kv: -kv[1]))
    return round(1.0 - remaining, 4), reasons


class CrisisDetector:
    """Rules, then an optional model (``prompts/crisis_classifier.j2``) for a lone weak signal."""

    def __init__(
        self, model: ChatModel | None = None, *, threshold: float = 0.8, timeout_s: float = 15.0
    ) -> None:
        self.model = model
        self.threshold = threshold
        self.timeout_s = timeout_s

    def check_sync(self, text: str) -> SafetyVerdict:
        """``crisis`` with reason codes, or ``allow``."""
        score, reasons = score_crisis(text)
        if score >= self.threshold:
            return SafetyVerdict(verdict="crisis", reasons=reasons, score=score)
        return SafetyVerdict(verdict="allow", score=score)

    async def check(self, text: str) -> SafetyVerdict:
        """Rules, then the classifier when the score is borderline and a model is configured."""
        ruled = self.check_sync(text)
        if self.model is None or not (0.5 <= ruled.score < self.threshold):
            return ruled
        answer = await classify(
            self.model,
            "crisis_classifier.j2",
            text=text,
            role="user",
            labels=frozenset({"crisis", "safe"}),
            timeout_s=self.timeout_s,
        )
        if answer is None or answer.label == "safe":
            return ruled
        _, reasons = score_crisis(text)
        return SafetyVerdict(verdict="crisis", reasons=(*reasons, "classifier"), score=ruled.score)
