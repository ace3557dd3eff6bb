"""SQLAlchemy storage: the only package that names tables, rows and sessions.

Repositories by aggregate (``users``, ``stars``, ``chat_turns``, ``flows``, ``consents``, ``safety_events``,
``turns`` for the one-hop read of an event, ``star_creation`` for an imported star's transactions, and the
meeting, voice, job and memory stores) take and return domain dataclasses (``core.domain``) and implement the
Protocols of ``core.ports.storage``; ``mappers`` reads rows into domain objects.
"""
