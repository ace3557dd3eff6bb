"""The DAVE layer with real davey sessions, and the crash-safe track writer."""

from __future__ import annotations

import json

import numpy as np
import pytest
from discord_voice_fakes import decode_track, on_meeting_clock

from adapters.discord.voice.dave import OPUS_SILENCE_FRAME, DaveFrameDecryptor, strip_passthrough_trailers
from adapters.discord.voice.storage import OpusTrackWriter
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


def _tone(seconds: float, freq: float = 440.0) -> np.ndarray:
    t = np.arange(round(seconds * 48_000)) / 48_000
    return (8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)[:, None]


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64).reshape(-1), b.astype(np.float64).reshape(-1)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_a_track_stores_speech_only_with_its_timeline_and_survives_a_crash(tmp_path):
    writer = OpusTrackWriter(tmp_path / "a.ogg", channels=1, window_samples=9600)
    speech = _tone(10.0)
    writer.write_at(48_000 * 60, speech[:240_000])  # 60-65 s
    writer.write_at(48_000 * 65 + 24_000, speech[240_000:])  # a 0.5 s pause: the same stretch
    writer.flush(now=48_000 * 80)  # the process then "crashes" (no close)
    timeline = json.loads((tmp_path / "a.timeline.json").read_text())
    assert timeline == {"sample_rate": 48_000, "spans": [[0, 48_000 * 60, 504_000]]}
    assert len(decode_track(tmp_path / "a.ogg")) >= 504_000 - 2 * 48_000  # on disk but the last 2 s
    writer.write_at(48_000 * 600, _tone(2.0))  # nine minutes later: a new stretch, no silence stored
    samples = writer.close(end=48_000 * 700)
    assert writer.spans == [(0, 48_000 * 60, 504_000), (504_000, 48_000 * 600, 96_000)]
    assert samples == 504_000 + 96_000  # the track holds 12.5 s for 11 minutes of meeting
    assert (tmp_path / "a.ogg").stat().st_size < 80_000
    placed = on_meeting_clock(tmp_path / "a.ogg", writer.spans, 48_000 * 700)
    assert _correlation(placed[48_000 * 61 : 48_000 * 64], speech[48_000:192_000]) > 0.95
    assert not placed[48_000 * 71 : 48_000 * 599].any()


def test_reordered_audio_inside_the_window_lands_in_place_and_late_audio_is_counted(tmp_path):
    writer = OpusTrackWriter(tmp_path / "b.ogg", channels=1, window_samples=2000)
    first, second = _tone(0.02, 300), _tone(0.02, 700)
    writer.write_at(960, second)
    writer.write_at(0, first)  # arrived second, belongs first
    writer.flush(now=4000)
    writer.write_at(1000, np.full((960, 1), 5, dtype=np.int16))  # before the committed point: too late
    writer.close(end=2000)
    assert writer.late_samples == 960
    assert writer.spans == [(0, 0, 1920)]
    assert writer.first_audio == 0


def test_an_opt_out_discards_the_track_and_its_timeline(tmp_path):
    writer = OpusTrackWriter(tmp_path / "c.ogg", channels=2, window_samples=9600)
    writer.write_at(48_000 * 120, np.ones((960, 2), dtype=np.int16))
    writer.flush(now=48_000 * 121)
    writer.discard()
    assert list(tmp_path.iterdir()) == []


class _Broken:
    """A session whose MLS state drifted: every frame fails."""

    ready = True

    def decrypt(self, user_id, media_type, packet):
        raise ValueError("DecryptionFailed(NoValidCryptorFound)")

    def can_passthrough(self, user_id):
        return False


def test_recovery_is_asked_after_36_consecutive_failures_outside_a_transition():
    need("davey")
    stuck: list[int] = []
    transition = [False]
    decryptor = DaveFrameDecryptor(_Broken, in_transition=lambda: transition[0], on_stuck=stuck.append)
    for _ in range(35):
        assert decryptor.decrypt(ALICE, b"\x01sealed\xfa\xfa") is None
    assert stuck == []
    decryptor.decrypt(ALICE, b"\x01sealed\xfa\xfa")
    assert stuck == [1]  # discord.py's recovery (op 31) first
    transition[0] = True  # during a protocol transition failures are expected: no recovery
    for _ in range(100):
        decryptor.decrypt(ALICE, b"\x01sealed\xfa\xfa")
    transition[0] = False
    for _ in range(36):
        decryptor.decrypt(ALICE, b"\x01sealed\xfa\xfa")
    assert stuck == [1, 2]  # then plain re-initialisations
    assert decryptor.stats.recoveries == 2 and decryptor.stats.dropped == 172


def test_a_frame_whose_padding_hid_the_dave_marker_decrypts(group):
    decryptor = DaveFrameDecryptor(lambda: group[BOT])
    sealed = group[ALICE].encrypt_opus(b"\xfcopus-frame")
    padded = sealed + bytes(3) + b"\x04"  # four bytes of RTP padding the sender left in the payload
    assert decryptor.decrypt(ALICE, padded) == b"\xfcopus-frame"
    assert decryptor.stats.decrypted == 1 and decryptor.stats.dropped == 0


def test_passthrough_frames_lose_their_padding_and_sealed_ones_never_pass():
    assert strip_passthrough_trailers(b"\xfcopus" + bytes(2) + b"\x03") == b"\xfcopus"
    assert strip_passthrough_trailers(b"\xfcopus") == b"\xfcopus"
    assert strip_passthrough_trailers(b"\xfcsealed-tag-nonce\x0c\xfa\xfa" + b"\x00\x02") == b""
