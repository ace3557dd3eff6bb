"""One clear line for each mistake an operator can make: the CLI's shared translation of known failures.

Every command that runs async code goes through :func:`bot.cli.run_async`, which asks :func:`explain`
for a line before letting an exception out as a traceback. Known failures are configuration mistakes
(a database that cannot be reached, a rejected token, a missing extra or model, bytes that are not
UTF-8); anything else is a bug and keeps its traceback. No line ever carries a token: each names the
setting, never its value, and quoted reasons pass through :func:`bot.settings.mask_url`.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.settings import mask_database_url, mask_url
from core.extras import install_hint
from core.ports import EngineUnavailable

_REASON_CHARS = 200


class CliError(Exception):
    """A failure already worded as one line for the operator (exit code 1)."""


class DatabaseUnavailable(CliError):
    """The database could not be opened, reached or migrated."""

    @classmethod
    def of(cls, url: str, exc: BaseException) -> DatabaseUnavailable:
        """The line for a failure to open the database at ``url``."""
        return cls(f"VOS_DATABASE_URL: cannot open the database at {mask_database_url(url)} ({reason(exc)})")


def check_sqlite_file(url: str) -> None:
    """Raise :class:`DatabaseUnavailable` when a SQLite file's folder is missing (before a driver tries)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return
    folder = Path(parsed.database).expanduser().parent
    if not folder.is_dir():
        raise DatabaseUnavailable(
            f"VOS_DATABASE_URL: cannot open the database at {mask_database_url(url)} (no folder {folder})"
        )


def upgrade_sync_or_explain(url: str) -> None:
    """Migrate the database at ``url``; any failure becomes :class:`DatabaseUnavailable`."""
    from core.storage.migrate import upgrade_sync

    check_sqlite_file(url)
    try:
        upgrade_sync(url)
    except Exception as exc:  # unreachable, missing, refused, unwritable, or a migration that failed
        raise DatabaseUnavailable.of(url, exc) from exc


async def upgrade_or_explain(url: str) -> None:
    """:func:`upgrade_sync_or_explain` off the event loop (Alembic's env runs its own loop)."""
    await asyncio.to_thread(upgrade_sync_or_explain, url)


async def check_redis(url: str) -> None:
    """Raise :class:`CliError` unless Redis answers at ``url`` (before anything is started on it)."""
    from redis.asyncio import from_url

    client = from_url(url)
    try:
        await client.ping()
    except Exception as exc:
        raise CliError(
            _platform_line(exc) or f"VOS_JOBS__REDIS_URL: cannot reach Redis ({reason(exc)})"
        ) from exc
    finally:
        await client.aclose()


def reason(exc: BaseException) -> str:
    """The innermost cause's message in one short line (SQLAlchemy's SQL and parameters left out)."""
    inner = exc
    while True:
        orig = getattr(inner, "orig", None)  # sqlalchemy.exc.DBAPIError: the driver's own error
        nxt = orig if isinstance(orig, BaseException) else inner.__cause__
        if nxt is None or nxt is inner:
            break
        inner = nxt
    text = str(inner).strip().splitlines()[0] if str(inner).strip() else type(inner).__name__
    if isinstance(inner, OSError) and inner.errno == errno.ECONNREFUSED:
        text = "connection refused"
    return mask_url(text)[:_REASON_CHARS]


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    """Every exception an exception group holds (and the exception itself otherwise)."""
    if isinstance(exc, BaseExceptionGroup):
        for sub in exc.exceptions:
            yield from _leaves(sub)
    else:
        yield exc


def _platform_line(exc: BaseException) -> str | None:
    """A platform refused the configured token (checked by class name: the libraries are extras)."""
    kind = f"{type(exc).__module__}.{type(exc).__name__}"
    if kind == "telegram.error.InvalidToken":
        return "VOS_TELEGRAM__TOKEN: Telegram rejected the token (copy it again from @BotFather)"
    if kind == "discord.errors.LoginFailure":
        return "VOS_DISCORD__TOKEN: Discord rejected the token (reset it in the Developer Portal, Bot tab)"
    if kind in {"redis.exceptions.ConnectionError", "redis.exceptions.TimeoutError"}:
        return f"VOS_JOBS__REDIS_URL: cannot reach Redis ({reason(exc)})"
    if kind == "redis.exceptions.AuthenticationError":
        return "VOS_JOBS__REDIS_URL: Redis refused the password in the URL"
    return None


def engine_line(exc: EngineUnavailable) -> str:
    """A missing extra or model, with the command that installs the extra when the engine names one."""
    message = str(exc)
    hint = install_hint(exc.extra) if exc.extra else ""
    if hint and hint not in message:
        message += f": {hint}"
    return message


def _line(exc: BaseException) -> str | None:
    match exc:
        case CliError():
            return str(exc)
        case EngineUnavailable():
            return engine_line(exc)
        case UnicodeDecodeError():
            return f"the input is not UTF-8 text (byte {exc.start}); save it as UTF-8 and try again"
        case _:
            return _platform_line(exc)


def explain(exc: BaseException) -> str | None:
    """One line for a known mistake anywhere in ``exc`` (groups searched), or ``None`` for a bug."""
    for leaf in _leaves(exc):
        seen: set[int] = set()
        current: BaseException | None = leaf
        while current is not None and id(current) not in seen:  # wrapped by a library: look inside
            seen.add(id(current))
            line = _line(current)
            if line is not None:
                return line
            current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return None
