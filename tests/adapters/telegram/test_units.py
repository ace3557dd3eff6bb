"""Pure parts of the adapter: text splitting, command parsing, callback tokens, config, catalogues."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import Update

from adapters.telegram.config import TelegramAdapterConfig
from adapters.telegram.convert import parse_command, to_event
from adapters.telegram.files import safe_filename
from adapters.telegram.render import TelegramRenderer, split_text, utf16_len
from core.domain.events import CommandInvoked, TextMessage
from core.domain.identity import Locale
from core.i18n import placeholders
from tests.adapters.telegram.botapi_server import TOKEN, text_update

ROOT = Path(__file__).resolve().parents[3]

texts = st.text(alphabet=st.sampled_from(list("가나다 라마.!?\n😀ab")), max_size=600)


@given(text=texts, limit=st.integers(min_value=8, max_value=64))
def test_split_text_respects_the_limit_and_keeps_every_word(text: str, limit: int) -> None:
    chunks = split_text(text, limit)
    assert all(0 < utf16_len(chunk) <= limit for chunk in chunks)
    assert all(chunk == chunk.strip() for chunk in chunks)
    assert "".join("".join(chunks).split()) == "".join(text.split())


def test_split_text_prefers_paragraphs_then_sentences() -> None:
    text = "첫 문단입니다. 조금 길어요.\n\n둘째 문단. 여기도 길어요. 그리고 끝."
    assert split_text(text, 30) == ["첫 문단입니다. 조금 길어요.", "둘째 문단. 여기도 길어요. 그리고 끝."]
    assert split_text("하나. 둘은 조금 더 길다. 셋.", 16) == ["하나. 둘은 조금 더 길다.", "셋."]
    assert split_text("😀" * 10, 5) == ["😀😀", "😀😀", "😀😀", "😀😀", "😀😀"]


@pytest.mark.parametrize(
    "cluster",
    [
        "👨\u200d👩\u200d👧\u200d👦",
        "🏳️\u200d🌈",
        "👍🏽",
        "🇰🇷",
        "1️⃣",
        "e\u0301\u0301",
        "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
    ],
)
def test_split_text_never_splits_a_grapheme_cluster(cluster: str) -> None:
    text = cluster * 300  # no space anywhere: the cut falls wherever the limit does
    for limit in (15, 50, 4096):  # each cluster fits (the longest, a tag flag, is 14 units)
        chunks = split_text(text, limit)
        assert "".join(chunks) == text
        assert all(chunk and chunk.replace(cluster, "") == "" for chunk in chunks), limit
        assert all(utf16_len(chunk) <= limit for chunk in chunks)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/start", ("start", "")),
        ("/Start@VOS_test_bot  hello  ", ("start", "hello")),
        ("/new\nline", ("new", "line")),
        ("/start\nfoo", ("start", "foo")),
        ("/ask\n\n첫 줄\n둘째 줄", ("ask", "첫 줄\n둘째 줄")),
        ("/ start", None),
        ("/ask what did we decide?", ("ask", "what did we decide?")),
        ("/start@someone_else", None),
        ("hello /start", None),
        ("/", None),
    ],
)
def test_parse_command(text: str, expected: tuple[str, str] | None) -> None:
    assert parse_command(text, "vos_test_bot") == expected


def test_to_event_is_pure_and_reads_the_locale() -> None:
    update = Update.de_json(text_update(7, "/start x", language_code="en-GB") | {"update_id": 1}, None)
    event = to_event(update, bot_username="vos_test_bot")
    assert isinstance(event, CommandInvoked)
    assert (event.command, event.args, event.locale_hint) == ("start", "x", Locale.EN)
    plain = Update.de_json(text_update(7, "밥 먹었어?", language_code="ko-KR") | {"update_id": 2}, None)
    event = to_event(plain, bot_username="vos_test_bot")
    assert isinstance(event, TextMessage)
    assert event.locale_hint is Locale.KO


def test_callback_data_is_the_key_itself() -> None:
    assert TelegramRenderer.callback_data("star:abc") == "star:abc"
    with pytest.raises(ValueError):
        TelegramRenderer.callback_data("x" * 65)


def test_config_validation_and_secret_hiding() -> None:
    config = TelegramAdapterConfig(
        token=TOKEN, mode="webhook", webhook_url="https://x/y", webhook_secret_token="abc"
    )
    assert TOKEN not in repr(config)
    assert "abc" not in repr(config)
    with pytest.raises(ValueError, match="token"):
        TelegramAdapterConfig(token="")
    with pytest.raises(ValueError, match="secret"):
        TelegramAdapterConfig(token=TOKEN, mode="webhook", webhook_url="https://x/y")
    with pytest.raises(ValueError, match="webhook_url"):
        TelegramAdapterConfig(token=TOKEN, mode="webhook", webhook_secret_token="abc")


def test_safe_filename_cannot_escape() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("KakaoTalk 고민수.txt") == "KakaoTalk 고민수.txt"
    assert safe_filename("..") == "file"


def test_telegram_catalogues_match() -> None:
    def flat(locale: str) -> dict[str, str]:
        data = tomllib.loads((ROOT / "core/i18n" / locale / "telegram.toml").read_text(encoding="utf-8"))
        out: dict[str, str] = {}

        def walk(prefix: str, node: dict) -> None:
            for key, value in node.items():
                if isinstance(value, dict):
                    walk(f"{prefix}{key}.", value)
                else:
                    out[f"{prefix}{key}"] = value

        walk("", data)
        return out

    ko, en = flat("ko"), flat("en")
    assert set(ko) == set(en)
    for key in ko:
        assert placeholders(ko[key]) == placeholders(en[key]), key
    assert all(1 <= len(v) <= 256 for k, v in ko.items() if k.startswith("telegram.commands."))
