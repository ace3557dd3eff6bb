"""Frozen domain dataclasses shared by every part of VOS. Standard library only."""

from core.domain.actions import (
    Action,
    AskChoice,
    Choice,
    DeleteProgress,
    SendFile,
    SendText,
    SendVoice,
    ShowProgress,
    TypingPause,
)
from core.domain.events import (
    ChoiceMade,
    CommandInvoked,
    Event,
    FileUploaded,
    IncomingFile,
    TextMessage,
    VoiceMessage,
)
from core.domain.identity import Locale, Platform, User, UserRef
from core.domain.stars import ChatTurn, Star, StarStatus, TurnRole

__all__ = [
    "Action",
    "AskChoice",
    "ChatTurn",
    "Choice",
    "ChoiceMade",
    "CommandInvoked",
    "DeleteProgress",
    "Event",
    "FileUploaded",
    "IncomingFile",
    "Locale",
    "Platform",
    "SendFile",
    "SendText",
    "SendVoice",
    "ShowProgress",
    "Star",
    "StarStatus",
    "TextMessage",
    "TurnRole",
    "TypingPause",
    "User",
    "UserRef",
    "VoiceMessage",
]
