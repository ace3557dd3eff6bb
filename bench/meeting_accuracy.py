"""Meeting speech accuracy: English WER of the configured recogniser, with a baseline model in the same run.

Usage: python bench/meeting_accuracy.py [--model SPEC] [--baseline packaged:tiny.en] [--threads 2]

The speech is espeak-ng in four voice settings reading held-out everyday meeting sentences (written for
this bench, apart from the recogniser's tests and the notes' patterns). ``--model`` defaults to the
configured ``VOS_STT__MODEL`` (``packaged:base`` unless set). Korean CER is measured on espeak-ng's
Korean (slowed to 140 words/min): a figure about synthesiser and model together, not human speech.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.backends.faster_whisper_stt import FasterWhisperOptions, FasterWhisperSTT
from tests.support.speech import SPEAKERS, SyntheticVoice, silence, speak

# Held-out English: everyday sentences of a small team's meeting.
ENGLISH = [
    "Sorry I'm a few minutes late, the train was stuck outside the station.",
    "The new hire starts on Monday, so somebody should set up her laptop.",
    "Our support queue doubled after the price change last week.",
    "I talked to the landlord and the office heating gets fixed on Thursday.",
    "Could we keep the demo short this time and leave room for questions?",
    "The printer on the second floor is broken again.",
    "Let's order lunch for the workshop, maybe twelve people in total.",
    "I still haven't heard back from the lawyer about the contract.",
]
KOREAN = [
    "오늘 회의는 여기까지 하고 다음 주에 다시 이야기해요.",
    "제가 금요일까지 견적서를 보내 드릴게요.",
    "고객 문의가 지난주보다 두 배로 늘었어요.",
]
# At 140 words/min espeak-ng 1.51 Korean is heard as Korean words; at its default 160 it mostly is not.
KOREAN_VOICE = SyntheticVoice(voice="ko", pitch=50, speed=140)
KOREAN_REASON = (
    "Korean CER here is on espeak-ng Korean (slowed to 140 words/min): it measures synthesiser and model "
    "together, not the model on human speech; no packaged Korean speech sample or offline Korean TTS "
    "voice was found in "
    "this machine's PyPI and Debian package lists (searched korean with speech/tts/voice/asr/wav, piper, "
    "mms, sherpa; melotts-mblt targets Mobilint NPUs; echoact and ko-speech-tools were not tried)."
)


def _words(text: str) -> list[str]:
    return re.sub(r"[^\w\s']", " ", text.lower()).split()


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Levenshtein distance between two token lists."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[len(hyp)]


def wer(refs: list[str], hyps: list[str]) -> float:
    """Corpus word error rate."""
    errors = sum(edit_distance(_words(r), _words(h)) for r, h in zip(refs, hyps, strict=True))
    return errors / max(1, sum(len(_words(r)) for r in refs))


def cer(refs: list[str], hyps: list[str]) -> float:
    """Corpus character error rate over characters without spaces and punctuation."""

    def chars(text: str) -> list[str]:
        return [c for c in text if c.isalnum()]

    errors = sum(edit_distance(chars(r), chars(h)) for r, h in zip(refs, hyps, strict=True))
    return errors / max(1, sum(len(chars(r)) for r in refs))


def transcribe_each(stt: FasterWhisperSTT, clips: list[np.ndarray], language: str) -> list[str]:
    """One transcript per clip (each clip is one sentence with a little silence around it)."""
    out = []
    for clip in clips:
        audio = np.concatenate([silence(0.3), clip, silence(0.3)])
        result = asyncio.run(stt.transcribe(audio, language=language))
        out.append(" ".join(s.text.strip() for s in result.segments))
    return out


def measure(
    spec: str, threads: int, clips: list[np.ndarray], refs: list[str], language: str
) -> dict[str, object]:
    """WER (or CER for Korean) of one model on the clips, with its wall time."""
    stt = FasterWhisperSTT(FasterWhisperOptions(model=spec, cpu_threads=threads, language=language))
    try:
        stt.load()
    except Exception as exc:  # a model that cannot load here is reported, not fatal to the bench
        return {"model": spec, "error": f"{type(exc).__name__}: {exc}"[:300]}
    t0 = time.perf_counter()
    hyps = transcribe_each(stt, clips, language)
    wall = time.perf_counter() - t0
    score = cer(refs, hyps) if language == "ko" else wer(refs, hyps)
    return {
        "model": spec,
        "cer" if language == "ko" else "wer": round(score, 4),
        "wall_s": round(wall, 2),
        "worst": max(zip(refs, hyps, strict=True), key=lambda p: edit_distance(_words(p[0]), _words(p[1]))),
    }


def main() -> None:
    from bot.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=None, help="default: the configured VOS_STT__MODEL")
    parser.add_argument("--baseline", default="packaged:tiny.en")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    model = args.model or load_settings().stt.model

    english = [speak(text, SPEAKERS[i % len(SPEAKERS)]) for i, text in enumerate(ENGLISH)]
    seconds = sum(c.size for c in english) / 16000
    report: dict[str, object] = {
        "english": {
            "audio_s": round(seconds, 1),
            "sentences": len(ENGLISH),
            "configured": measure(model, args.threads, english, ENGLISH, "en"),
            "baseline": measure(args.baseline, args.threads, english, ENGLISH, "en"),
        },
        "korean": {"cer": None, "reason": KOREAN_REASON},
    }
    if not model.endswith(".en"):
        korean = [speak(text, KOREAN_VOICE) for text in KOREAN]
        report["korean"] = {"reason": KOREAN_REASON, **measure(model, args.threads, korean, KOREAN, "ko")}
    print(json.dumps(report, ensure_ascii=False, indent=2))
    print(f"English WER ({model}): {report['english']['configured'].get('wer')}")  # type: ignore[index]
    print(f"Korean CER ({model}, espeak-ng speech): {report['korean'].get('cer')}")  # type: ignore[attr-defined]
    print(KOREAN_REASON)


if __name__ == "__main__":
    main()
