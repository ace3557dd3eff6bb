"""The repositories under their old import path; each lives in the module of its aggregate.

``users``, ``stars``, ``chat_turns``, ``flows``, ``consents`` (and blob references), ``safety_events``;
rows become domain objects in ``mappers``.
"""

from core.storage.chat_turns import ChatRepository, NewTurns
from core.storage.consents import BlobRefRepository, ConsentRepository
from core.storage.flows import FlowRepository
from core.storage.mappers import as_naive
from core.storage.safety_events import SafetyEventRepository
from core.storage.stars import StarRepository
from core.storage.users import UserRepository

__all__ = [
    "BlobRefRepository",
    "ChatRepository",
    "ConsentRepository",
    "FlowRepository",
    "NewTurns",
    "SafetyEventRepository",
    "StarRepository",
    "UserRepository",
    "as_naive",
]
