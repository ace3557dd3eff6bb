"""What the CLI runs: the adapters in one TaskGroup, the console, and one-shot commands."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import IO, Any

from adapters.console.adapter import ConsoleAdapter, ConsoleConfig
from adapters.console.reader import UnreadableInput
from bot.cli_common import console_log_file
from bot.demo import DEMO_CONSENT, DEMO_EXPORT, DEMO_NAME, DEMO_NOTES, DEMO_PARTICIPANT, DEMO_RELATION
from bot.errors import CliError, check_redis
from bot.jobs import background_jobs
from bot.settings import Settings
from bot.wiring import App, running_app
from core.domain.identity import Locale, Platform, User, UserRef
from core.domain.stars import Star
from core.i18n import t
from core.meetings.optouts import MeetingOptOuts
from core.personas.kakao import KakaoParseError
from core.personas.stars import ExportTooLarge, ImportResult, NewStar, ParticipantMissing
from core.ports import EngineUnavailable, ProgressCallback
from core.storage.optout_repository import MeetingOptOutRepository
from core.storage.repositories import as_naive  # noqa: F401  (re-exported for scripts)
from core.text.morphemes import shared_analyzer

log = logging.getLogger(__name__)


async def local_user(app: App, user_id: str, locale: Locale | None = None) -> User:
    """The console/CLI user (platform 'console')."""
    return await app.users.get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id=user_id),
        display_name=user_id,
        locale=locale or app.settings.default_locale,
    )


async def find_star(app: App, user: User, ref: str) -> Star | str:
    """The user's star with id or name ``ref``, or one line saying why none.

    Several stars may share a name (the demo "엄마" and the user's own mother): the user's own win over the
    demo, then the one in use; otherwise the line lists their ids to choose from.
    """
    stars = await app.stars.list_owned(user.id)
    if found := next((s for s in stars if s.id == ref), None):
        return found
    named = [s for s in stars if s.name == ref]
    named = [s for s in named if s.relation != DEMO_RELATION] or named
    if len(named) > 1:
        active = await app.users.active_star_id(user.id)
        named = [s for s in named if s.id == active] or named
    if len(named) == 1:
        return named[0]
    if named:
        ids = ", ".join(f"{s.id} ({s.relation})" for s in named)
        return f"{len(named)} stars are named {ref!r} for user {user.platform_user_id!r}: give one of {ids}"
    return f"no star {ref!r} for user {user.platform_user_id!r}"


async def ensure_demo_star(app: App, user: User) -> None:
    """Give a user with no stars the bundled demo star, so a fresh install has someone to talk to."""
    if await app.stars.list_owned(user.id):
        return
    if sys.stdin.isatty() and sys.stdout.isatty():  # a few seconds of indexing: say so on a terminal
        print(t(user.locale, "lines.console.preparing_demo", name=DEMO_NAME), flush=True)
    demo = NewStar(
        owner_id=user.id,
        name=DEMO_NAME,
        relation=DEMO_RELATION,
        participant=DEMO_PARTICIPANT,
        notes=DEMO_NOTES,
    )
    await import_star(app, demo, DEMO_EXPORT, consent_text=DEMO_CONSENT, consent_kind="demo")
    log.info("demo star created for user %s", user.id)


async def import_star(
    app: App,
    new: NewStar,
    export: Path,
    *,
    consent_text: str,
    consent_kind: str = "star_creation",
    progress: ProgressCallback | None = None,
    activate: bool = True,
) -> ImportResult:
    """A star made from an export file on this machine, as ``/new`` makes it from an upload: the file is
    stored as a blob, imported, and (``activate``) the star becomes the one its owner talks to."""
    key = await app.blobs.put_file(export)
    result = await app.star_service.create(
        new, key, consent_text=consent_text, consent_kind=consent_kind, progress=progress
    )
    if activate:
        await app.users.set_active_star(new.owner_id, result.star.id)
    return result


async def warm_engines() -> None:
    """Load what a first message needs and would otherwise load while the bot serves: kiwipiepy holds the
    GIL through its load and first analysis (about 3 s here), which would stop every chat for that long even
    from a worker thread. Called before the first message is taken."""
    await asyncio.to_thread(shared_analyzer().warm)


async def run_console(
    settings: Settings, *, script: Path | None, user_id: str, locale: str | None, demo: bool = True
) -> None:
    """The console adapter, interactive or scripted."""
    loc = Locale(locale) if locale else None
    async with running_app(settings) as app:
        await warm_engines()
        user = await local_user(app, user_id, loc)
        if demo and settings.demo_star:
            await ensure_demo_star(app, user)
        adapter = ConsoleAdapter(
            app.engine,
            ConsoleConfig(
                user_id=user_id,
                display_name=user_id,
                locale=loc,
                echo_input=script is not None,
                default_locale=settings.default_locale,
            ),
        )
        if script is None or str(script) == "-":
            await _console_on_stdin(app, adapter, named="stdin")
            return
        with script.open("rb") as fh:  # decoded line by line: a bad byte is named with its line
            await _scripted(app, adapter, fh, named=str(script))


async def _scripted(app: App, adapter: ConsoleAdapter, source: IO[bytes], *, named: str) -> None:
    """A script types as fast as it reads: that is the operator's intent, not flooding (no rate limit)."""
    app.engine.limiter = None
    try:
        await adapter.run_script(source)
    except UnreadableInput as exc:
        raise CliError(f"{named}: {exc}; save it as UTF-8 and try again") from None


async def _console_on_stdin(app: App, adapter: ConsoleAdapter, *, named: str) -> None:
    """Interactive on a terminal, scripted on a pipe; stdin is read off the event loop either way."""
    if sys.stdin.isatty():
        banner = t(adapter.locale, "lines.console.banner")
        if sys.stdout.isatty():  # the log went to a file (bot.cli): say where
            banner += "\n" + t(adapter.locale, "lines.console.log_file", path=console_log_file(app.settings))
        print(banner)
        await adapter.run_interactive()
        return
    await _scripted(app, adapter, sys.stdin.buffer, named=named)


def nothing_to_serve(settings: Settings) -> str | None:
    """Why ``vos run`` cannot start (no platform token and no console fallback), else ``None``."""
    if settings.telegram.token is not None or settings.discord.token is not None or settings.console_fallback:
        return None
    return (
        "no platform token is set: put VOS_TELEGRAM__TOKEN or VOS_DISCORD__TOKEN in .env "
        "(VOS_CONSOLE_FALLBACK=false, so there is no console to fall back to)"
    )


async def run_bot(settings: Settings) -> None:
    """Every configured adapter in one TaskGroup; the console when no platform token is set."""
    runners = []
    if settings.jobs.backend == "redis":
        await check_redis(settings.jobs.redis_url)
    async with running_app(settings) as app:
        # Before the background jobs start: a failure to build an adapter then stops nothing half-begun.
        await warm_engines()
        async with background_jobs(app):
            if settings.telegram.token is not None:
                runners.append(telegram_runner(app, settings))
            if settings.discord.token is not None:
                runners.append(discord_adapter(app, settings).run())
            if not runners:
                log.info("no platform token configured: starting the console adapter")
                user = await local_user(app, "local")
                if settings.demo_star:
                    await ensure_demo_star(app, user)
                adapter = ConsoleAdapter(
                    app.engine,
                    ConsoleConfig(echo_input=not sys.stdin.isatty(), default_locale=settings.default_locale),
                )
                await _console_on_stdin(app, adapter, named="stdin")
                return
            async with asyncio.TaskGroup() as tg:
                for runner in runners:
                    tg.create_task(runner)


def telegram_adapter_config(settings: Settings, app: App | None = None) -> Any:
    """The Telegram adapter's settings slice (needs the 'telegram' extra), with ``app``'s command menu."""
    try:
        from adapters.telegram.config import TelegramAdapterConfig
    except ImportError as exc:
        raise EngineUnavailable(
            "VOS_TELEGRAM__TOKEN is set but python-telegram-bot is not installed", extra="telegram"
        ) from exc
    tg = settings.telegram
    assert tg.token is not None
    return TelegramAdapterConfig(
        token=tg.token.get_secret_value(),
        mode=tg.mode,
        webhook_url=tg.webhook_url or "",
        webhook_listen=tg.listen,
        webhook_port=tg.port,
        webhook_secret_token=tg.webhook_secret.get_secret_value() if tg.webhook_secret else "",
        base_url=tg.base_url,
        download_dir=settings.data_dir / "downloads",
        http_client=tg.http_client,
        poll_interval_s=tg.poll_interval_s,
        menu=app.engine.router.menu() if app is not None else (),
    )


def telegram_adapter(app: App, settings: Settings) -> Any:
    """The Telegram adapter configured from settings (needs the 'telegram' extra)."""
    config = telegram_adapter_config(settings, app)
    from adapters.telegram.adapter import TelegramAdapter

    return TelegramAdapter(config, app.engine)


def telegram_runner(app: App, settings: Settings) -> Coroutine[Any, Any, None]:
    """One process, or a fan-out over ``telegram.processes`` shard processes."""
    processes = settings.telegram.processes
    if processes > 1:
        from bot.telegram_shards import run_telegram_shards

        return run_telegram_shards(app, settings, processes)
    runner: Coroutine[Any, Any, None] = telegram_adapter(app, settings).run()
    return runner


def discord_adapter(app: App, settings: Settings) -> Any:
    """The Discord adapter configured from settings (needs the 'discord' extra)."""
    try:
        from adapters.discord.adapter import DiscordAdapter
        from adapters.discord.config import DiscordAdapterConfig
    except ImportError as exc:
        raise EngineUnavailable(
            "VOS_DISCORD__TOKEN is set but discord.py is not installed", extra="discord"
        ) from exc
    dc = settings.discord
    assert dc.token is not None
    config = DiscordAdapterConfig(
        token=dc.token.get_secret_value(),
        data_dir=settings.data_dir,
        guild_ids=tuple(dc.guild_ids),
        audio_retention_days=settings.meetings.audio_retention_days,
        commands=app.engine.router.items,
    )
    enrolment = app.meetings.enrolment
    optouts = MeetingOptOuts(
        MeetingOptOutRepository(app.db), forget_voice=enrolment.forget_member if enrolment else None
    )
    return DiscordAdapter(config, app.engine, optouts=optouts)


def _stderr_progress(every_s: float = 2.0) -> Callable[[float, str], None]:
    """Import progress on stderr ("moments N", "vectors i/n"), a line every ``every_s`` at most."""
    shown = [-every_s]

    def show(fraction: float, text: str) -> None:
        now = time.monotonic()
        if now - shown[0] >= every_s or fraction >= 1.0:
            shown[0] = now
            print(f"{fraction:6.1%}  {text}", file=sys.stderr, flush=True)

    return show


async def cli_create_star(  # noqa: PLR0917 (the CLI command's options, one to one)
    settings: Settings,
    user_id: str,
    name: str,
    export: Path,
    participant: str,
    relation: str,
    notes: str,
    *,
    show_progress: bool = False,
) -> dict[str, Any]:
    """``vos star create``: the same service the chat flow uses, in one streaming pass over the file
    (the participant is checked while importing; an unknown one lists who wrote in the export).
    ``show_progress``: the stages on stderr (messages, moments, vectors)."""
    if not await asyncio.to_thread(export.is_file):
        return {"error": f"{export}: no such file"}
    async with running_app(settings) as app:
        user = await local_user(app, user_id)
        try:
            app.star_service.check_size((await asyncio.to_thread(export.stat)).st_size)
            if show_progress:
                print("importing messages...", file=sys.stderr, flush=True)
            new = NewStar(
                owner_id=user.id,
                name=name,
                relation=relation,
                participant=participant,
                notes=notes,
                export_filename=export.name,
            )
            result = await import_star(
                app,
                new,
                export,
                consent_text="cli: the operator attests 18+ and the right to use these messages",
                progress=_stderr_progress() if show_progress else None,
            )
        except ExportTooLarge as exc:
            return {
                "error": (
                    f"{export}: {exc.size} bytes is over the {exc.limit}-byte limit "
                    "(VOS_LIMITS__MAX_EXPORT_MB)"
                )
            }
        except KakaoParseError as exc:
            return {"error": f"{export}: {exc.user_message('en')}"}
        except ParticipantMissing as exc:
            names = ", ".join(exc.counts)
            return {"error": f"participant {participant!r} not in the export (participants: {names})"}
        return {
            "star_id": result.star.id,
            "name": result.star.name,
            "participant": participant,
            "messages": result.imported,
            "shape": result.shape,
        }


async def cli_chat(settings: Settings, user_id: str, star_ref: str, text: str) -> dict[str, Any]:
    """``vos chat``: one turn through the chat service, stored like any adapter's."""
    async with running_app(settings) as app:
        user = await local_user(app, user_id)
        star = await find_star(app, user, star_ref)
        if isinstance(star, str):
            return {"error": star}
        reply = await app.chat.turn(user, star, text, user.locale)
        return {"bubbles": list(reply.bubbles), "engine": reply.engine, "verdict": reply.verdict}
