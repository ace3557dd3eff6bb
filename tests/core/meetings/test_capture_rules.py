"""Meeting-capture rules in core: any adapter (Discord, console, Telegram) applies the same ones."""

from __future__ import annotations

from core.meetings.capture_rules import late_optouts, may_stop, speaker_labels, track_filenames


def test_only_the_starter_or_someone_in_the_channel_may_stop() -> None:
    assert may_stop("1", starter_id="1", in_channel=())
    assert may_stop("2", starter_id="1", in_channel={2: object(), 3: object()})  # Discord's voice_states
    assert not may_stop("4", starter_id="1", in_channel={2: object()})


def test_track_names_are_safe_and_numbered() -> None:
    names = track_filenames(["1", "2", "3"], {"1": "민수/../x", "2": "민수 ..x", "3": ""})
    assert names["1"] == "민수 .. x.ogg"
    assert names["3"] == "user-3.ogg"
    assert len(set(map(str.lower, names.values()))) == 3


def test_opt_out_matches_every_label_a_track_would_carry() -> None:
    labels = speaker_labels("7", ["Min Su", "", "min:su"])
    assert "Min Su" in labels and "min:su" in labels and "min su" in labels
    opted = {("g", "7")}
    speakers = [("7", "Min Su"), ("8", "Other")]
    assert late_optouts("g", speakers, lambda g, u: (g, u) in opted) == ["Min Su"]
