"""One set of yes and no words: every question (/new, /voice, /enroll, /forget) accepts the same ones."""

from __future__ import annotations

import pytest

from core.domain.events import ChoiceMade, CommandInvoked, TextMessage
from core.domain.identity import Platform, UserRef
from core.flows.answers import YES_WORDS, Answer, answer_text, said_yes, yes_or_no

_USER = UserRef(platform=Platform.CONSOLE, platform_user_id="u1")


def _text(text: str) -> TextMessage:
    return TextMessage(user=_USER, chat_id="c", text=text)


@pytest.mark.parametrize("typed", ["동의", "네", "예", "yes", "Y", " 네. ", "Yes!", "응", "동의합니다"])
def test_typed_yes_in_either_language(typed: str) -> None:
    assert said_yes(_text(typed))


@pytest.mark.parametrize("typed", ["아니요", "no", "N", "아니오."])
def test_typed_no(typed: str) -> None:
    assert yes_or_no(_text(typed)) is Answer.NO


@pytest.mark.parametrize("typed", ["", "네네 근데", "yesterday", "maybe", "동의 안 함"])
def test_anything_else_is_neither(typed: str) -> None:
    assert yes_or_no(_text(typed)) is Answer.OTHER
    assert not said_yes(_text(typed))


def test_buttons_answer_by_their_flow_value() -> None:
    assert said_yes(ChoiceMade(user=_USER, chat_id="c", key="f:yes"))
    assert yes_or_no(ChoiceMade(user=_USER, chat_id="c", key="f:no")) is Answer.NO
    assert answer_text(ChoiceMade(user=_USER, chat_id="c", key="star:1")) == ""
    assert answer_text(CommandInvoked(user=_USER, chat_id="c", command="forget")) == ""


def test_no_module_keeps_its_own_set_of_yes_words() -> None:
    """The words live in one place: no flow or command module spells a yes-set of its own."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[3] / "core"
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "answers.py" and '"동의"' in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
    assert {"동의", "네", "yes"} <= YES_WORDS
