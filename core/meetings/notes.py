"""Offline meeting notes by speaker: commitments and their owners, decisions, unanswered questions.

The transcript knows who said each sentence, so owners come from the speakers, never from the words:
- an action item is a commitment ("I'll send the deck", "제가 정리할게요"), owned by the speaker who made
  it; or a request ("can you...", "해 주세요"), owned by the meeting speaker it names, else by the speaker
  who accepts it next ("Sure, I'll do it", "네, 할게요"), else by nobody (the team);
- a decision is an agreement or a plan stated as settled ("we decided", "it's settled", "planned for",
  "moved to next sprint", "하기로 했어요", "확정");
- an open question is a real question that no other speaker answers within the next few sentences.
Due dates and decision days are resolved against the meeting's date (``core.meetings.due_dates``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from core.domain.audio import TranscriptSegment
from core.meetings.due_dates import resolve_due
from core.meetings.summary.model import ActionItem, SummaryPoint

_I = re.IGNORECASE


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of the transcript with who said it and when it started."""

    text: str
    speaker: str | None
    start: float


_SENTENCE_END = re.compile(r"(?<=[.!?。？！])\s+")


def split_sentences(segments: Sequence[TranscriptSegment]) -> list[Sentence]:
    """Sentences of the transcript; a sentence's start comes from its first word when words are known."""
    out: list[Sentence] = []
    for seg in segments:
        parts = [p.strip() for p in _SENTENCE_END.split(seg.text.strip()) if p.strip()]
        aligned = seg.words and len(seg.words) == len(seg.text.split())
        offset = 0
        for part in parts:
            start = seg.words[offset].start if aligned and offset < len(seg.words) else seg.start
            out.append(Sentence(part, seg.speaker, round(float(start), 2)))
            offset += len(part.split())
    return out


# --- what a sentence does -------------------------------------------------------------------------

_COMMIT_EN = re.compile(
    r"\b(?:I(?:'ll| will| shall|'m going to| am going to|'m gonna| can take| can do| can handle| can own"
    r"| can look into| can get| will take| take care of)|I'?m on it|leave it (?:to|with) me|let me (?!know\b)"
    r"|I'll take (?:care of|that|it)|count me in)\b",
    _I,
)
_COMMIT_KO = re.compile(
    r"(?:할게요|할께요|할게|할께|하겠습니다|하겠어요|드릴게요|드리겠습니다|볼게요|보겠습니다|맡을게요|맡겠습니다"
    r"|챙길게요|챙기겠습니다|보낼게요|보내겠습니다|올릴게요|올리겠습니다|만들게요|만들겠습니다|정리할게요"
    r"|잡을게요|잡겠습니다|할 예정입니다|제가 (?:할|맡|챙기|하)|저희 팀에서 (?:할|맡))"
)
# Things said with "I will" that are not tasks.
_NOT_TASK = re.compile(
    r"\bI(?:'ll| will) (?:never|always|be honest|be brief|be quick|say|admit|start|begin|stop|go first"
    r"|try to be|miss|remember|keep it short|hand (?:it )?(?:over|back)|leave it there|wrap up|pass)"
    r"|\blet me (?:start|begin|stop|say|be|think|see|just say|share my screen|wrap)"
    r"|(?:시작|마치|마무리|넘어가|말씀드리|소개|정리해\s*드리|공유드리|보고드리)(?:하)?겠습니다"
    r"|(?:시작|마무리|넘어갈)(?:할)?게요",
    _I,
)
_REQUEST = re.compile(
    r"\b(?:can|could|would|will) you\b|\bplease\b|\bmake sure (?:to|you)\b|\byou(?:'ll| will) need to\b"
    r"|\bneeds? to (?:update|send|check|fix|write|review|book|prepare|finish)\b"
    r"|해\s*주세요|해\s*줄래요|해\s*주실|해\s*줘|부탁|해\s*주시겠|해\s*주시면|하셔야|챙겨\s*주세요",
    _I,
)
_ACCEPT = re.compile(
    r"^\W*(?:sure|ok(?:ay)?|yes|yep|yeah|will do|on it|no problem|got it|sounds good|I can|I'll|I will"
    r"|네|넵|예|알겠습니다|알겠어요|그럴게요|할게요|제가 할게요|좋아요|오케이)\b",
    _I,
)
_DECISION = re.compile(
    r"\b(?:we(?:'ve| have)? decided|decided to|decision is|the decision|let'?s go with"
    r"|we(?:'ll| will) go with|we(?:'re| are) going with|we agreed|agreed (?:to|on|that)|it'?s settled"
    r"|settled on|that'?s settled|final(?:ly)? (?:answer|call)"
    r"|(?:is|are|'s|'re) (?:planned|scheduled|set|confirmed|locked) (?:for|to|on|in)"
    r"|(?:moved?|moving|pushed?|pushing|postponed?|slipp?(?:ed|ing)?) (?:it )?(?:to|into|until)"
    r" (?:next|the next|later)"
    r"|we(?:'ll| will) (?:ship|launch|release|use|switch to|stick with|keep)\b|the plan is)"
    r"|결정|기로\s*(?:했|하|합|함|해요)|합의|확정|정했|(?:으로|로)\s*(?:가죠|가겠습니다|가기로|하죠|갑시다|정리하죠)"
    r"|(?:미루|연기하|옮기)(?:기로|겠습니다|죠)|예정(?:입니다|이에요|이고)|(?:으로|로)\s*(?:하겠습니다|진행하겠습니다|진행합니다)",
    _I,
)
_QUESTION_END = re.compile(
    r"(?:\?|？|까요|나요|습니까|을까|ㄹ까|는지|인가요|한가요|건가요|을래요|실래요)\W*$"
)
# Questions about the meeting itself, and tags ("right?"), are not open items.
_META_QUESTION = re.compile(
    r"\b(?:any (?:questions|thoughts|comments|updates|objections)|anything else|does that (?:make sense|work)"
    r"|(?:is that|are we|sound) (?:ok(?:ay)?|good|clear|fine)|right\?|everyone (?:here|ready)|can you hear me"
    r"|shall we (?:start|begin|wrap)|how are you|how was your)"
    r"|질문\s*있|의견\s*있|다들\s*(?:괜찮|들리|준비)|들리세요|시작할까요|마칠까요|넘어갈까요|잘\s*지내",
    _I,
)
_UNSURE = re.compile(
    r"\b(?:I (?:don'?t|do not) know|not sure|no idea|good question"
    r"|let'?s (?:check|figure|find out|circle back)|TBD|we'?ll see|need to check|have to check)\b"
    r"|모르겠|글쎄|확인해\s*(?:봐야|볼게|보겠)|아직\s*(?:모르|미정)|미정",
    _I,
)
_ANSWER_WINDOW = 3


def _is_question(s: Sentence) -> bool:
    return bool(_QUESTION_END.search(s.text))


def _is_real_question(s: Sentence) -> bool:
    words = s.text.split()
    return _is_question(s) and len(words) >= 3 and not _META_QUESTION.search(s.text)


def _is_commitment(text: str) -> bool:
    return bool((_COMMIT_EN.search(text) or _COMMIT_KO.search(text)) and not _NOT_TASK.search(text))


def _named_speaker(text: str, speakers: Sequence[str], own: str | None) -> str | None:
    """A meeting speaker the sentence addresses by name (word-bounded; never the sentence's own speaker)."""
    for name in sorted(speakers, key=len, reverse=True):
        if not name or name == own:
            continue
        if re.search(rf"(?<![\w]){re.escape(name)}(?:씨|님)?(?![\w])", text, _I) or re.search(
            rf"(?<![\w]){re.escape(name)}(?:씨|님)?(?:이|가|께서|에게|한테)?\s", text
        ):
            return name
    return None


def _acceptance(sentences: Sequence[Sentence], index: int) -> int | None:
    """The index of the next sentence, within two, where another speaker accepts the request at ``index``."""
    asker = sentences[index].speaker
    for j in range(index + 1, min(index + 3, len(sentences))):
        follow = sentences[j]
        if follow.speaker and follow.speaker != asker and _ACCEPT.search(follow.text):
            return j
    return None


_ANSWER_START = re.compile(
    r"^\W*(?:yes|yeah|yep|no|nope|sure|I think|I guess|probably|maybe|it'?s|it is|that'?s|we(?:'ll| will)"
    r"|I(?:'ll| will| can)|me|네|넵|예|아니요|아뇨|아마|제가|저요|그건|그거는|저희가)(?=\W|$)",
    _I,
)
_STOP = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "but",
        "to",
        "of",
        "in",
        "on",
        "for",
        "with",
        "about",
        "is",
        "are",
        "was",
        "were",
        "be",
        "it",
        "this",
        "that",
        "what",
        "who",
        "when",
        "where",
        "how",
        "why",
        "which",
        "do",
        "does",
        "did",
        "we",
        "you",
        "they",
        "i",
        "me",
        "my",
        "our",
        "your",
        "will",
        "can",
        "could",
        "would",
        "should",
        "going",
    ]
)


def _topics(text: str) -> set[str]:
    """Content-word stems: English words of 4+ letters, Korean words cut to their first two syllables."""
    out: set[str] = set()
    for word in re.findall(r"[A-Za-z]+|[가-힣]+", text.casefold()):
        if word.isascii():
            if len(word) >= 4 and word not in _STOP:
                out.add(word[:6])
        elif len(word) >= 2:
            out.add(word[:2])
    return out


def _answered(sentences: Sequence[Sentence], index: int) -> bool:
    """Whether another speaker answers within the next few sentences: on topic, or plainly as an answer."""
    question = sentences[index]
    topics = _topics(question.text)
    for follow in sentences[index + 1 : index + 1 + _ANSWER_WINDOW]:
        if follow.speaker == question.speaker or follow.speaker is None:
            continue
        if _is_question(follow) or _UNSURE.search(follow.text):
            return False
        short = len(follow.text.split()) <= 5
        if (short and _ANSWER_START.search(follow.text)) or topics & _topics(follow.text):
            return True
    return False


def _action(s: Sentence, owner: str | None, ref: date | None) -> ActionItem:
    due = resolve_due(s.text, ref)
    return ActionItem(
        text=s.text,
        owner=owner,
        due=due.iso if due else None,
        due_said=due.said if due else None,
        at=(s.start,),
    )


def extract_items(
    sentences: Sequence[Sentence], *, meeting_date: date | None = None
) -> tuple[tuple[SummaryPoint, ...], tuple[ActionItem, ...], tuple[SummaryPoint, ...]]:
    """Decisions, action items and open questions; each cites its sentence's start."""
    speakers = sorted({s.speaker for s in sentences if s.speaker})
    decisions: list[SummaryPoint] = []
    actions: list[ActionItem] = []
    questions: list[SummaryPoint] = []
    accepted: set[int] = set()  # short "Sure, I'll do it" replies already owned through their request
    for i, s in enumerate(sentences):
        question = _is_question(s)
        if _DECISION.search(s.text) and not question:
            when = resolve_due(s.text, meeting_date, cue=False)
            decisions.append(
                SummaryPoint(text=s.text, speaker=s.speaker, at=(s.start,), when=when.iso if when else None)
            )
        if _REQUEST.search(s.text):
            owner = _named_speaker(s.text, speakers, s.speaker)
            taker = _acceptance(sentences, i)
            if taker is not None and owner in (None, sentences[taker].speaker):
                owner = sentences[taker].speaker
                if len(sentences[taker].text.split()) <= 6:
                    accepted.add(taker)
            actions.append(_action(s, owner, meeting_date))
        elif i in accepted:
            continue
        elif _is_commitment(s.text) and not question:
            actions.append(_action(s, s.speaker, meeting_date))
        elif _is_real_question(s) and not _answered(sentences, i):
            questions.append(SummaryPoint(text=s.text, speaker=s.speaker, at=(s.start,)))
    return tuple(decisions), tuple(actions), tuple(questions)
