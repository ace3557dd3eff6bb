"""Audio in and out: round trips through every format users send, voice-note tags, and the error paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.domain.identity import Locale
from core.i18n import catalogue
from core.voice.audio import (
    AudioError,
    decode_audio,
    encode_audio,
    encode_voice_note,
    is_ai_generated,
    load_samples,
    read_tags,
    save_samples,
)

SR = 16000
FORMATS = ["wav", "flac", "mp3", "m4a", "ogg", "webm", "mp4"]


def chirp(seconds: float = 3.0, sr: int = SR) -> np.ndarray:
    """A rising tone with a slow envelope: not periodic, so alignment by correlation is unambiguous."""
    t = np.arange(int(seconds * sr)) / sr
    freq = 200 + 600 * t / seconds
    return (
        0.4 * np.sin(2 * np.pi * np.cumsum(freq) / sr) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t))
    ).astype(np.float32)


def best_correlation(reference: np.ndarray, decoded: np.ndarray, max_lag: int = 4000) -> float:
    """Pearson correlation at the best alignment (lossy codecs add a few ms of priming delay)."""
    core = reference[max_lag : reference.size - max_lag]
    best = -1.0
    for lag in range(0, 2 * max_lag, 8):
        seg = decoded[lag : lag + core.size]
        if seg.size == core.size:
            best = max(best, float(np.corrcoef(core, seg)[0, 1]))
    return best


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_keeps_duration_and_signal(tmp_path: Path, fmt: str) -> None:
    source = chirp()
    path = encode_audio(source, SR, tmp_path / f"clip.{fmt}")
    decoded = decode_audio(path)
    assert decoded.sample_rate == SR
    assert decoded.samples.dtype == np.float32
    assert decoded.samples.ndim == 1
    assert decoded.duration_s == pytest.approx(3.0, abs=0.08)
    assert best_correlation(source, decoded.samples) > 0.95
    assert decoded.source_format


def test_decode_resamples_from_44k_stereo_source(tmp_path: Path) -> None:
    path = encode_audio(chirp(2.0, 44100), 44100, tmp_path / "hi.flac")
    decoded = decode_audio(path, sample_rate=16000)
    assert decoded.samples.size == pytest.approx(32000, abs=40)


def test_voice_note_is_ogg_opus_48k_and_tagged_ai_generated(tmp_path: Path) -> None:
    path = encode_voice_note(chirp(), SR, tmp_path / "note.ogg", title="엄마의 목소리")
    import av

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        assert container.format.name == "ogg"
        assert stream.codec_context.name == "opus"
        assert stream.codec_context.sample_rate == 48000
        assert stream.codec_context.channels == 1
    tags = read_tags(path)
    assert tags["ai_generated"] == "1"
    assert "AI-generated" in tags["comment"]
    assert tags["title"] == "엄마의 목소리"
    assert is_ai_generated(path)
    assert decode_audio(path).duration_s == pytest.approx(3.0, abs=0.05)


def test_untagged_voice_note_is_not_marked(tmp_path: Path) -> None:
    path = encode_voice_note(chirp(), SR, tmp_path / "real.ogg", ai_generated=False)
    assert not is_ai_generated(path)


def expect_error(path: Path, key: str, **kwargs: float) -> AudioError:
    with pytest.raises(AudioError) as info:
        decode_audio(path, **kwargs)
    assert info.value.key == key
    return info.value


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.ogg").write_bytes(b"")
    expect_error(tmp_path / "empty.ogg", "voice.audio.empty")


def test_missing_file(tmp_path: Path) -> None:
    expect_error(tmp_path / "nowhere.wav", "voice.audio.empty")


def test_text_file_is_not_audio(tmp_path: Path) -> None:
    (tmp_path / "notes.mp3").write_text("[고민수] [오후 3:04] 밥 먹었어?\n" * 40, encoding="utf-8")
    expect_error(tmp_path / "notes.mp3", "voice.audio.not_audio")


def test_image_is_not_audio(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (32, 32), "red").save(tmp_path / "photo.png")
    expect_error(tmp_path / "photo.png", "voice.audio.not_audio")


def test_truncated_header_is_broken(tmp_path: Path) -> None:
    data = encode_audio(chirp(), SR, tmp_path / "ok.ogg").read_bytes()
    (tmp_path / "cut.ogg").write_bytes(data[:120])
    expect_error(tmp_path / "cut.ogg", "voice.audio.broken")


def test_cut_off_upload_keeps_what_arrived(tmp_path: Path) -> None:
    data = encode_audio(chirp(), SR, tmp_path / "ok.ogg").read_bytes()
    (tmp_path / "half.ogg").write_bytes(data[: len(data) // 2])
    decoded = decode_audio(tmp_path / "half.ogg")
    assert 0.5 < decoded.duration_s < 2.5


def test_silent_recording(tmp_path: Path) -> None:
    path = encode_audio(np.zeros(SR * 2, dtype=np.float32), SR, tmp_path / "quiet.wav")
    err = expect_error(path, "voice.audio.silent")
    assert err.message(Locale.KO) != err.message(Locale.EN)


@pytest.mark.parametrize("fmt", ["wav", "ogg", "mp3"])
def test_too_long_recording(tmp_path: Path, fmt: str) -> None:
    path = encode_audio(chirp(4.0), SR, tmp_path / f"long.{fmt}")
    err = expect_error(path, "voice.audio.too_long", max_seconds=2.0)
    assert "2" in err.message(Locale.EN) or "0" in err.message(Locale.EN)
    assert decode_audio(path, max_seconds=5.0).duration_s == pytest.approx(4.0, abs=0.08)


def test_too_long_raw_aac_stream(tmp_path: Path) -> None:
    # Raw ADTS AAC has no duration field; FFmpeg estimates one, and decoding stops at the limit anyway.
    import av

    path = tmp_path / "stream.aac"
    with av.open(str(path), mode="w", format="adts") as container:
        stream = container.add_stream("aac", rate=SR)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(chirp(4.0).reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = SR
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    expect_error(path, "voice.audio.too_long", max_seconds=1.0)


def test_unsupported_output_format(tmp_path: Path) -> None:
    with pytest.raises(AudioError) as info:
        encode_audio(chirp(), SR, tmp_path / "x.xyz")
    assert info.value.key == "voice.audio.unsupported_format"


@pytest.mark.parametrize("locale", list(Locale))
def test_every_audio_error_has_a_message(locale: Locale) -> None:
    keys = ["empty", "broken", "not_audio", "silent", "too_long", "unsupported_format"]
    for key in keys:
        assert f"voice.audio.{key}" in catalogue(locale)
    assert "120" in AudioError("voice.audio.too_long", minutes=120).message(locale)


def test_saved_samples_load_back_exactly(tmp_path: Path) -> None:
    samples = chirp(2.0)
    path = save_samples(samples, tmp_path / "kept" / "rec.npy")
    loaded = load_samples(path, expected_size=samples.size)
    assert loaded is not None and loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, samples)
    assert [p.name for p in path.parent.iterdir()] == ["rec.npy"]  # no temporary file left


def test_missing_damaged_or_foreign_samples_load_as_none(tmp_path: Path) -> None:
    path = save_samples(chirp(1.0), tmp_path / "rec.npy")
    assert load_samples(path, expected_size=SR + 1) is None
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 100])
    assert load_samples(path) is None
    path.write_bytes(whole[:40])
    assert load_samples(path) is None
    np.save(path, np.zeros((2, 10), np.float32))
    assert load_samples(path) is None
    np.save(path, np.zeros(10, np.float64))
    assert load_samples(path) is None
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert load_samples(path) is None
    assert load_samples(tmp_path / "none.npy") is None
