"""Benchmark the offline speaker separation on synthetic multi-speaker recordings.

Generates conversations with espeak-ng voices (known turns), runs the resemblyzer diarizer and reports
frame accuracy (known count and estimated count), the estimated speaker count and the real-time factor.

    python bench/separation.py [--recordings 4] [--speakers 3] [--threads 1]

Targets (issue 6): frame accuracy >= 0.9 with the known count, RTF <= 0.1 on 2 cores.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.backends.resemblyzer_diarizer import ResemblyzerDiarizer, ResemblyzerOptions
from core.voice.profile import trim_silence
from core.voice.separation import extract_clip, frame_accuracy
from tests.support.speech import SyntheticVoice, conversation

VOICES = (
    SyntheticVoice(voice="en-us", pitch=35, speed=150, variant="boris"),
    SyntheticVoice(voice="en-us", pitch=50, speed=160, variant="klatt"),
    SyntheticVoice(voice="en-us", pitch=85, speed=160, variant="f2"),
    SyntheticVoice(voice="en-us", pitch=40, speed=160, variant="m1"),
)
SENTENCES = [
    "Hello there, how have you been doing lately?",
    "I have been well, thank you for asking me.",
    "We should go to the market tomorrow morning.",
    "That sounds like a wonderful idea to me.",
    "What time would suit everyone best, do you think?",
    "Maybe nine o'clock, before it gets too crowded.",
    "Fine by me.",
    "I will bring the bags and some coffee.",
    "Did anyone remember to call grandmother about dinner on Sunday?",
    "I called her yesterday evening and she said yes.",
    "Wonderful, she always makes the best soup.",
    "The train was late again this morning, so I walked.",
    "Let us plan the holiday before the prices go up.",
    "Remember when we went fishing at the lake?",
]


def make_recording(rng: random.Random, speakers: int, turns: int):  # type: ignore[no-untyped-def]
    order = [i % speakers for i in range(speakers)] + [
        rng.randrange(speakers) for _ in range(turns - speakers)
    ]
    lines = [(s, rng.choice(SENTENCES)) for s in order]
    audio, known = conversation(lines, voices=VOICES, gap_s=rng.choice([0.4, 0.6, 0.8]))
    ref = []
    for k in known:  # espeak-ng appends silence; the reference is the speech itself
        lead, tail = trim_silence(extract_clip(audio, 16000, (k.start, k.end)), 16000)
        ref.append((k.start + lead, k.start + tail, k.speaker))
    return audio, ref


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=4)
    parser.add_argument("--speakers", type=int, default=3)
    parser.add_argument("--turns", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    rng = random.Random(6)
    diarizer = ResemblyzerDiarizer(ResemblyzerOptions(threads=args.threads))
    warm, _ = make_recording(rng, 2, 2)
    diarizer.diarize_sync(warm)  # load the model and warm the kernels outside the timing

    known_acc, est_acc, rtfs, counts = [], [], [], []
    for i in range(args.recordings):
        audio, ref = make_recording(rng, args.speakers, args.turns)
        duration = audio.size / 16000
        start = time.perf_counter()
        fixed = diarizer.diarize_sync(audio, num_speakers=args.speakers)
        rtfs.append((time.perf_counter() - start) / duration)
        estimated = diarizer.diarize_sync(audio)
        known_acc.append(frame_accuracy(ref, [(t.start, t.end, t.speaker) for t in fixed.turns], duration))
        est_acc.append(frame_accuracy(ref, [(t.start, t.end, t.speaker) for t in estimated.turns], duration))
        counts.append(len({t.speaker for t in estimated.turns}))
        print(
            f"recording {i + 1}: {duration:5.1f} s  acc(known)={known_acc[-1]:.3f}  "
            f"acc(est)={est_acc[-1]:.3f}  count={counts[-1]}/{args.speakers}  rtf={rtfs[-1]:.3f}"
        )
    print(
        f"\nmean frame accuracy, known count: {statistics.mean(known_acc):.3f} (target >= 0.9)\n"
        f"mean frame accuracy, estimated count: {statistics.mean(est_acc):.3f}\n"
        f"speaker count right: {sum(c == args.speakers for c in counts)}/{len(counts)}\n"
        f"median RTF: {statistics.median(rtfs):.3f} (target <= 0.1; threads={args.threads})"
    )


if __name__ == "__main__":
    main()
