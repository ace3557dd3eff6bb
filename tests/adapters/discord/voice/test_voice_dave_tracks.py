"""The DAVE layer with real davey sessions, and the crash-safe track writer."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from adapters.discord.voice.dave import OPUS_SILENCE_FRAME, DaveFrameDecryptor
from adapters.discord.voice.tracks import StreamAligner, WavTrackWriter
from tests.support.extras import need

BOT, ALICE, BOB = 1, 2, 3


@pytest.fixture
def group():
    need("davey")
    from discord_voice_fakes import FakeMlsVoiceServer

    return FakeMlsVoiceServer().group(99, [BOT, ALICE, BOB])


def test_dave_frames_decrypt_per_user(group):
    decryptor = DaveFrameDecryptor(lambda: group[BOT])
    sealed = group[ALICE].encrypt_opus(b"\xfc" + b"alice-opus")
    assert sealed.endswith(b"\xfa\xfa")
    assert b"alice-opus" not in sealed
    assert decryptor.decrypt(ALICE, sealed) == b"\xfc" + b"alice-opus"
    assert decryptor.decrypt(BOB, sealed) is None  # Bob's key does not open Alice's frame
    assert decryptor.decrypt(ALICE, OPUS_SILENCE_FRAME) == OPUS_SILENCE_FRAME
    stats = decryptor.stats
    assert (stats.decrypted, stats.dropped, stats.unencrypted) == (1, 1, 1)


def test_frames_after_a_key_change_are_dropped_and_counted(group):
    from discord_voice_fakes import FakeMlsVoiceServer

    new_epoch = FakeMlsVoiceServer().group(99, [ALICE, 7])[ALICE]  # a group the bot has no keys for yet
    decryptor = DaveFrameDecryptor(lambda: group[BOT])
    for i in range(5):
        assert decryptor.decrypt(ALICE, new_epoch.encrypt_opus(b"\xfc%d" % i)) is None
    assert decryptor.decrypt(ALICE, group[ALICE].encrypt_opus(b"\xfcok")) == b"\xfcok"
    assert decryptor.stats.dropped == 5


def test_passthrough_frames_are_handed_on(group):
    decryptor = DaveFrameDecryptor(lambda: group[BOT])
    assert decryptor.decrypt(ALICE, b"\xfcplain") is None  # unencrypted frames refused normally
    group[BOT].set_passthrough_mode(True, 10)
    assert group[BOT].can_passthrough(ALICE)
    assert decryptor.decrypt(ALICE, b"\xfcplain") == b"\xfcplain"


def test_no_dave_session_means_plain_opus_and_dave_frames_are_dropped():
    decryptor = DaveFrameDecryptor(lambda: None)
    assert decryptor.decrypt(ALICE, b"\xfcplain") == b"\xfcplain"
    assert decryptor.decrypt(ALICE, b"\xfcsealed\xfa\xfa") is None


def _read(path):
    with wave.open(str(path)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)


def test_track_is_a_valid_wav_after_every_flush_without_close(tmp_path):
    writer = WavTrackWriter(tmp_path / "a.wav", channels=1, window_samples=100)
    writer.write_at(1000, np.full((500, 1), 7, dtype=np.int16))
    writer.flush(now=1300)  # commits up to 1200; the process then "crashes" (no close)
    audio = _read(tmp_path / "a.wav")
    assert len(audio) == 1200
    assert not audio[:1000].any()
    assert (audio[1000:1200] == 7).all()
    writer.write_at(1400, np.full((100, 1), 9, dtype=np.int16))
    assert writer.close(end=3000) == 3000
    audio = _read(tmp_path / "a.wav")
    assert len(audio) == 3000
    assert (audio[1000:1400] == 7).all()
    assert (audio[1200:1400] == 7).all()
    assert (audio[1400:1500] == 9).all()
    assert not audio[1500:].any()


def test_reordered_audio_inside_the_window_lands_in_place_and_late_audio_is_counted(tmp_path):
    writer = WavTrackWriter(tmp_path / "b.wav", channels=1, window_samples=2000)
    writer.write_at(960, np.full((960, 1), 2, dtype=np.int16))
    writer.write_at(0, np.full((960, 1), 1, dtype=np.int16))  # arrived second, belongs first
    writer.flush(now=4000)
    writer.write_at(1000, np.full((960, 1), 5, dtype=np.int16))  # before the committed point: too late
    writer.close(end=2000)
    audio = _read(tmp_path / "b.wav")
    assert (audio[:960] == 1).all()
    assert (audio[960:1920] == 2).all()
    assert writer.late_samples == 960


def test_long_silence_before_first_speech_is_streamed_not_buffered(tmp_path):
    writer = WavTrackWriter(tmp_path / "c.wav", channels=2, window_samples=9600)
    writer.write_at(48_000 * 120, np.ones((960, 2), dtype=np.int16))
    assert writer.samples_written >= 48_000 * 119  # silence already on disk
    assert writer.close(end=48_000 * 121) == 48_000 * 121


def test_aligner_follows_rtp_within_a_spurt_and_resyncs_on_frozen_timestamps():
    aligner = StreamAligner(resync_samples=12_000)
    assert aligner.position(2**32 - 960, arrival_pos=5000) == 5000
    assert aligner.position(0, arrival_pos=5000 + 960 + 300) == 5960  # wraparound; jitter ignored
    assert aligner.position(960, arrival_pos=5000 + 48_000) == 53_000  # sender paused its clock: resync
    assert aligner.resyncs == 1
