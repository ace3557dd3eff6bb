"""How much does synthesized speech sound like the star? Speaker-embedding cosine similarity, with baselines.

Usage: ``python bench/voice_similarity.py [--backend espeak|xtts] [--language en|ko] [--json]
[--reference a.wav b.wav c.wav] [--xtts-model-dir DIR --accept-cpml]``

Embeddings come from resemblyzer's ``VoiceEncoder`` (the offline speaker encoder). The reference voice is
either the WAV files given (16-bit PCM; the last one is held out) or an espeak-ng "person" generated here.
One run reports, against the reference clips' mean embedding:
- ``same voice, held-out clip``: the ceiling, what a perfect clone would score;
- ``different voice``: another espeak-ng person, the floor of "not this person";
- ``backend, voice traits``: the active backend speaking the held-out text with the star's VoiceSpec;
- ``backend, no voice``: the same backend with no voice profile (for espeak: its default voice).
With a synthetic espeak-ng star the espeak backend is flattered (same engine, same formant model); only real
recordings tell how far a basic voice is from a person. A real clone (xtts) should sit near the ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import wave
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.backends.espeak_synthesizer import EspeakSynthesizer
from core.extras import install_hint
from core.ports import SpeechSynthesizer, VoiceSpec
from core.voice.analysis import voice_traits
from tests.support.speech import SyntheticVoice, speak

Audio = npt.NDArray[np.float32]
SR = 16000

_TEXTS = {
    "en": (
        "I remember the summer we spent by the sea, when you were still small.",
        "Your grandfather used to sing in the kitchen while the soup was cooking.",
        "Don't forget to call your mother on Sunday, she worries about you.",
        "Every morning I walked to the market and bought fresh bread for all of us.",
    ),
    "ko": (
        "네가 어렸을 때 우리 바닷가에서 보낸 여름을 아직도 기억해.",
        "할아버지는 찌개가 끓는 동안 부엌에서 노래를 부르곤 했지.",
        "일요일에는 엄마한테 꼭 전화해, 너를 많이 걱정하잖아.",
        "매일 아침 시장에 가서 우리 식구 먹을 빵을 샀단다.",
    ),
}
# Synthetic "people" (espeak-ng voices unlike the backend's defaults): each is a star in turn, and the
# next one in the list is its "different voice".
_PEOPLE = {
    "en": (
        SyntheticVoice(voice="en-gb", pitch=35, speed=140, variant="m7"),
        SyntheticVoice(voice="en-us", pitch=75, speed=190, variant="f4"),
        SyntheticVoice(voice="en-us", pitch=60, speed=165, variant="m2"),
    ),
    "ko": (
        SyntheticVoice(voice="ko", pitch=35, speed=140, variant="m7"),
        SyntheticVoice(voice="ko", pitch=75, speed=190, variant="f4"),
        SyntheticVoice(voice="ko", pitch=60, speed=165, variant="m2"),
    ),
}


@dataclass(frozen=True, slots=True)
class Row:
    """One compared voice: its cosine similarity to the reference and, for synthesis, the real-time factor."""

    label: str
    similarity: float
    rtf: float | None = None


def _resample(audio: Audio, src: int, dst: int = SR) -> Audio:
    if src == dst:
        return audio.astype(np.float32)
    n = round(audio.size * dst / src)
    return np.interp(np.linspace(0, audio.size - 1, n), np.arange(audio.size), audio).astype(np.float32)


def _read_wav(path: Path) -> Audio:
    with wave.open(str(path)) as wf:
        if wf.getsampwidth() != 2:
            raise SystemExit(f"{path}: only 16-bit PCM WAV is supported here")
        data = np.frombuffer(wf.readframes(wf.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
        if wf.getnchannels() > 1:
            data = data.reshape(-1, wf.getnchannels()).mean(axis=1)
        return _resample(data, wf.getframerate())


def _write_wav(path: Path, audio: Audio) -> None:
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(SR)
        wf.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())


class Embedder:
    """resemblyzer's speaker encoder on CPU."""

    def __init__(self) -> None:
        try:
            from resemblyzer import VoiceEncoder, preprocess_wav
        except ImportError as exc:
            raise SystemExit(
                f"resemblyzer is needed for this benchmark: {install_hint('voice')} ({exc})"
            ) from exc
        self._encoder = VoiceEncoder("cpu", verbose=False)
        self._preprocess = preprocess_wav

    def embed(self, audio: Audio, sr: int = SR) -> npt.NDArray[np.float32]:
        wav = self._preprocess(_resample(audio, sr), source_sr=SR)
        vector = np.asarray(self._encoder.embed_utterance(wav), dtype=np.float32)
        return vector / np.linalg.norm(vector)


def _cosine(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def _backend(args: argparse.Namespace) -> SpeechSynthesizer:
    if args.backend == "espeak":
        return EspeakSynthesizer()
    from core.backends.xtts_synthesizer import XTTSOptions, XTTSSynthesizer

    model_dir = Path(args.xtts_model_dir) if args.xtts_model_dir else None
    return XTTSSynthesizer(XTTSOptions(model_dir=model_dir, accept_cpml=args.accept_cpml))


async def _synthesize(
    synth: SpeechSynthesizer, text: str, language: str, voice: VoiceSpec | None
) -> tuple[Audio, float]:
    start = time.perf_counter()
    speech = await synth.synthesize(text, language=language, voice=voice)
    elapsed = time.perf_counter() - start
    return _resample(speech.audio, speech.sample_rate), elapsed / (speech.audio.size / speech.sample_rate)


async def _compare(
    args: argparse.Namespace,
    synth: SpeechSynthesizer,
    embedder: Embedder,
    reference: list[Audio],
    held_out: Audio,
    other: Audio,
    words: int | None,
) -> dict[str, object]:
    """Similarities of one star: ceiling, floor and the backend with and without the star's traits."""
    text = _TEXTS[args.language][-1]
    joined = np.concatenate(reference)
    spw = 2.7 if args.language == "ko" else 1.5
    traits = voice_traits(joined, SR, transcript_words=words, syllables_per_word=spw)
    ref_embedding = np.mean([embedder.embed(clip) for clip in reference], axis=0)
    rows = [
        Row("same voice, held-out clip (ceiling)", _cosine(ref_embedding, embedder.embed(held_out))),
        Row("different voice (floor)", _cosine(ref_embedding, embedder.embed(other))),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, clip in enumerate(reference):
            paths.append(Path(tmp) / f"ref{i}.wav")
            _write_wav(paths[-1], clip)
        voice = VoiceSpec(
            profile_id="bench",
            reference_clips=tuple(paths),
            median_f0_hz=traits.median_f0_hz,
            words_per_minute=traits.words_per_minute,
            gender_hint=traits.gender_hint,
        )
        audio, rtf = await _synthesize(synth, text, args.language, voice)
        rows.append(Row(f"{synth.name}, voice traits", _cosine(ref_embedding, embedder.embed(audio)), rtf))
        if not synth.clones_voice:
            audio, rtf = await _synthesize(synth, text, args.language, None)
            rows.append(Row(f"{synth.name}, no voice", _cosine(ref_embedding, embedder.embed(audio)), rtf))
    return {"traits": asdict(traits), "rows": [asdict(row) for row in rows]}


async def run(args: argparse.Namespace) -> dict[str, object]:
    """Build the references, synthesize, embed, compare."""
    texts = _TEXTS[args.language]
    synth = _backend(args)
    embedder = Embedder()
    stars: list[dict[str, object]] = []
    if args.reference:
        clips = [_read_wav(Path(p)) for p in args.reference]
        if len(clips) < 2:
            raise SystemExit("give at least two reference WAV files (the last one is held out)")
        other = speak(texts[-1], _PEOPLE[args.language][0])
        result = await _compare(args, synth, embedder, clips[:-1], clips[-1], other, None)
        stars.append({"star": "reference files", **result})
    else:
        people = _PEOPLE[args.language]
        words = sum(len(text.split()) for text in texts[:-1])
        for i, person in enumerate(people):
            reference = [speak(text, person) for text in texts[:-1]]
            held_out = speak(texts[-1], person)
            other = speak(texts[-1], people[(i + 1) % len(people)])
            result = await _compare(args, synth, embedder, reference, held_out, other, words)
            stars.append({"star": person.voice_name + f" p{person.pitch} s{person.speed}", **result})
    return {
        "backend": synth.name,
        "clones_voice": synth.clones_voice,
        "language": args.language,
        "stars": stars,
    }


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backend", choices=("espeak", "xtts"), default="espeak")
    parser.add_argument("--language", choices=("en", "ko"), default="en")
    parser.add_argument("--reference", nargs="*", help="reference WAV files of one person (last held out)")
    parser.add_argument("--xtts-model-dir")
    parser.add_argument(
        "--accept-cpml", action="store_true", help="acknowledge XTTS-v2's non-commercial licence"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    print(f"backend={result['backend']} clones_voice={result['clones_voice']} language={result['language']}")
    for star in result["stars"]:  # type: ignore[attr-defined]
        traits = star["traits"]
        f0, wpm = traits["median_f0_hz"], traits["words_per_minute"]
        print(f"star {star['star']}: F0 {f0 or 0:.0f} Hz, {wpm or 0:.0f} wpm, {traits['gender_hint']}")
        for row in star["rows"]:
            rtf = f"  RTF {row['rtf']:.3f}" if row["rtf"] is not None else ""
            print(f"  {row['label']:<40} cosine {row['similarity']:.3f}{rtf}")


if __name__ == "__main__":
    main()
