"""Several processes, one bot: which shard owns an update, and how the receiving process hands it over.

One process is bound to one core (the GIL). To use more, the bot runs as several processes, one shard of
the chats each (:func:`shard_of`): the first receives every update, keeps its own shard's and hands the
others to their processes (:class:`RoutingQueue`), where ``TelegramAdapter.run_fed`` handles them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from telegram import Update
from telegram._utils.types import JSONDict


class UpdateSink(Protocol):
    """Where the receiving process hands another shard an update (as Bot API JSON)."""

    async def send(self, data: JSONDict) -> None:
        """Deliver ``data``; waits while the shard is behind (back-pressure), raises once it is gone.

        ``data`` is on its way once ``send`` is called: cancelling the wait does not take it back.
        """
        ...


def shard_of(update: Update, shards: int) -> int:
    """The shard that owns ``update``: by chat (private chats: the user), so a chat stays in one process."""
    chat = update.effective_chat
    user = update.effective_user
    key = chat.id if chat is not None else user.id if user is not None else update.update_id
    return key % shards


class RoutingQueue(asyncio.Queue[object]):
    """PTB's update queue in the receiving process: updates of other shards go to them instead.

    PTB's updater puts every received update here and the application handles what it gets from here, so
    routing at ``put`` hands other shards' updates over (waiting while a shard is behind) and keeps this
    shard's own updates as they are: no copy, no serialisation.
    """

    def __init__(self, peers: Sequence[UpdateSink | None]) -> None:
        super().__init__()
        self._peers = peers
        self.interrupted_at: int | None = None
        """The update whose hand-over a stop cancelled (it and those before it are on their way)."""
        self.failure: Exception | None = None
        """Why a hand-over failed (a shard gone or stuck): the receiver stops and raises it."""
        self.broken = asyncio.Event()

    async def put(self, item: object) -> None:
        if isinstance(item, Update):
            peer = self._peers[shard_of(item, len(self._peers))]
            if peer is not None:
                try:
                    await peer.send(item.to_dict())
                except asyncio.CancelledError:
                    self.interrupted_at = item.update_id
                    raise
                except Exception as exc:
                    # PTB's polling loop would log this and poll on, leaving a shard's chats unanswered.
                    # This update did not get through: after the restart Telegram sends it again.
                    self.interrupted_at = item.update_id - 1
                    self.failure = exc
                    self.broken.set()
                    raise
                return
        await super().put(item)
