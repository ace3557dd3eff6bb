"""The ``vos`` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.cli_admin import admin_app
from bot.cli_common import (
    JsonOpt,
    UserOpt,
    fail,
    interactive_terminal,
    run_async,
    settings_or_exit,
    setup_logging,
)
from bot.cli_meeting import meeting_app
from bot.cli_voice import transcribe, voice_app
from bot.errors import CliError, explain
from bot.memory_cli import memory_app
from bot.settings import Settings

__all__ = ["app", "main", "run_async", "settings_or_exit", "setup_logging"]

app = typer.Typer(add_completion=False, no_args_is_help=True, help="VOS: Voice of the Star.")
db_app = typer.Typer(no_args_is_help=True, help="Database migrations.")
kakao_app = typer.Typer(no_args_is_help=True, help="KakaoTalk exports.")
star_app = typer.Typer(no_args_is_help=True, help="Stars.")
safety_app = typer.Typer(no_args_is_help=True, help="The safety guard.")
app.add_typer(db_app, name="db")
app.add_typer(kakao_app, name="kakao")
app.add_typer(star_app, name="star")
app.add_typer(safety_app, name="safety")
app.add_typer(voice_app, name="voice")
app.add_typer(memory_app, name="memory")
app.add_typer(meeting_app, name="meeting")
app.add_typer(admin_app, name="admin")
app.command()(transcribe)


@app.command()
def run() -> None:
    """Start every configured adapter (the console when no platform token is set)."""
    from bot.runner import nothing_to_serve, run_bot
    from bot.telegram_shards import ShardDied

    settings = settings_or_exit()
    if (reason := nothing_to_serve(settings)) is not None:
        raise fail(reason, 1)
    console_only = settings.telegram.token is None and settings.discord.token is None
    setup_logging(settings, to_file=console_only and interactive_terminal())
    try:
        run_async(lambda: run_bot(settings))
    except ExceptionGroup as group:
        died = group.subgroup(ShardDied)
        if died is None:
            raise
        first: BaseException = died
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        # Restarting the bot as a whole is the supervisor's job (Docker's restart policy, systemd).
        raise fail(f"{first}; stopping so that the bot restarts as a whole", 1) from None


@app.command()
def console(
    script: Annotated[
        Path | None, typer.Option(help="Read input lines from this file ('-' for stdin).")
    ] = None,
    user: UserOpt = "local",
    locale: Annotated[str | None, typer.Option(help="ko or en")] = None,
    demo: Annotated[bool, typer.Option(help="Create the demo star for a user who has none.")] = True,
) -> None:
    """Chat in the terminal (interactive, or scripted with --script)."""
    from bot.runner import run_console

    settings = settings_or_exit()
    setup_logging(settings, to_file=script is None and interactive_terminal())
    run_async(lambda: run_console(settings, script=script, user_id=user, locale=locale, demo=demo))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Upgrade the database to the newest schema."""
    from bot.errors import upgrade_sync_or_explain

    settings = settings_or_exit()
    try:
        upgrade_sync_or_explain(settings.effective_database_url)
    except CliError as exc:
        raise fail(str(exc), 1) from None
    typer.echo("database is up to date")


@db_app.command("check")
def db_check() -> None:
    """Fail when the models and the migrations disagree."""
    from bot.errors import DatabaseUnavailable, check_sqlite_file
    from core.storage.migrate import SchemaDriftError, check_sync

    settings = settings_or_exit()
    url = settings.effective_database_url
    try:
        check_sqlite_file(url)
        check_sync(url)
    except SchemaDriftError as exc:
        raise fail(f"schema drift: {exc}", 1) from None
    except CliError as exc:
        raise fail(str(exc), 1) from None
    except Exception as exc:  # unreachable, missing, refused
        raise fail(str(DatabaseUnavailable.of(url, exc)), 1) from None
    typer.echo("models and migrations agree")


@app.command()
def config() -> None:
    """Print the effective settings (secrets hidden)."""
    settings = settings_or_exit(check_writable=False)
    typer.echo(json.dumps(settings.redacted(), indent=2, ensure_ascii=False, default=str))


@app.command()
def doctor(json_out: JsonOpt = False) -> None:
    """Which engines, extras and models are available; whether the database is reachable."""
    from bot.doctor import diagnose, format_report

    settings = settings_or_exit(check_writable=False)
    report = run_async(lambda: diagnose(settings))
    typer.echo(json.dumps(report, indent=2, ensure_ascii=False) if json_out else format_report(report))
    if report["broken"]:
        raise fail(f"something required is broken: {', '.join(report['broken'])}", 1)


@kakao_app.command("inspect")
def kakao_inspect(
    file: Path,
    json_out: JsonOpt = False,
    messages: Annotated[bool, typer.Option("--messages", help="Include every message.")] = False,
) -> None:
    """Detect an export's shape and encoding and count its participants and messages."""
    from core.personas.kakao import KakaoParseError, inspect_export

    if not file.is_file():
        raise fail(f"{file}: no such file")
    try:
        info = inspect_export(file, with_messages=messages)
    except KakaoParseError as exc:
        raise fail(f"{file}: {exc.user_message('en')}", 1) from None
    if json_out:
        typer.echo(json.dumps(info, ensure_ascii=False))
        return
    typer.echo(f"shape: {info['shape']}  encoding: {info['encoding']}  messages: {info['messages']}")
    typer.echo(f"from {info['first']} to {info['last']}")
    for name, count in info["participants"].items():
        typer.echo(f"  {name}: {count}")


@star_app.command("create")
def star_create(  # noqa: PLR0917 (typer maps each parameter to an option)
    name: Annotated[str, typer.Option(help="The star's name.")],
    export: Annotated[Path, typer.Option(help="The KakaoTalk export file.")],
    participant: Annotated[str, typer.Option(help="Which participant of the export is the star.")],
    relation: Annotated[str, typer.Option(help="The star's relation to you.")] = "",
    notes: Annotated[str, typer.Option(help="Personality notes.")] = "",
    user: UserOpt = "local",
    json_out: JsonOpt = False,
) -> None:
    """Create a star non-interactively (you attest that you are 18+ and have the right to do so)."""
    from bot.runner import cli_create_star

    settings = settings_or_exit()
    setup_logging(settings)
    result = run_async(
        lambda: cli_create_star(
            settings, user, name, export, participant, relation, notes, show_progress=not json_out
        )
    )
    if json_out:
        typer.echo(json.dumps(result, ensure_ascii=False))
    elif "error" in result:
        raise fail(result["error"], 1)
    else:
        typer.echo(f"created star {result['star_id']} ({result['name']}): {result['messages']} messages")
    if "error" in result:
        raise typer.Exit(1)


@app.command()
def chat(
    star: Annotated[str, typer.Argument(help="The star's id or name.")],
    text: Annotated[str, typer.Argument(help="Your message.")],
    user: UserOpt = "local",
    json_out: JsonOpt = False,
) -> None:
    """Send one message to a star and print its reply bubbles (stored like any chat)."""
    from bot.runner import cli_chat

    settings = settings_or_exit()
    setup_logging(settings)
    result = run_async(lambda: cli_chat(settings, user, star, text))
    if "error" in result:
        if json_out:
            typer.echo(json.dumps(result, ensure_ascii=False))
        raise fail(result["error"], 1)
    if json_out:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        for bubble in result["bubbles"]:
            typer.echo(bubble)


@safety_app.command("check")
def safety_check(
    text: Annotated[str | None, typer.Argument(help="The text to check.")] = None,
    role: Annotated[str, typer.Option(help="user, star or speech")] = "user",
    jsonl: Annotated[
        Path | None,
        typer.Option(
            "--jsonl", help="""Check every line of this file, a {"text", "role"} object ('-' = stdin)."""
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Run the safety guard the bot runs (rules, semantic heads, and the configured model) on a text, or on
    every JSON line of a file with --jsonl."""
    from bot.engines import build_chat_model, build_safety_guard
    from core.safety.check import acheck_jsonl_lines, verdict_json

    if role not in {"user", "star", "speech"}:
        raise fail("--role must be user, star or speech")
    if jsonl is not None and str(jsonl) != "-" and not jsonl.is_file():
        raise fail(f"{jsonl}: no such file")
    if jsonl is None and text is None:
        raise fail("give a TEXT or --jsonl FILE")
    settings = settings_or_exit()
    lines: list[str] = []
    if jsonl is not None:
        try:
            with sys.stdin if str(jsonl) == "-" else jsonl.open(encoding="utf-8") as fh:
                lines = fh.readlines()
        except UnicodeDecodeError:
            raise fail(f"{jsonl}: not UTF-8 text; save it as UTF-8 and try again", 1) from None

    async def run() -> list[str]:
        model = build_chat_model(settings)
        guard = build_safety_guard(settings, model)
        try:
            if jsonl is not None:
                return [line async for line in acheck_jsonl_lines(lines, guard)]
            assert text is not None
            data = verdict_json(await guard.check(text, role=role))  # type: ignore[arg-type]
            return [
                json.dumps(data, ensure_ascii=False)
                if json_out
                else f"{data['verdict']}: {', '.join(data['reasons'])}"
            ]
        finally:
            await guard.aclose()
            if model is not None:
                await model.aclose()

    for line in run_async(run):
        typer.echo(line)


@app.command()
def worker(
    jobs_module: Annotated[
        list[str] | None,
        typer.Option("--jobs-module", help="Also import MODULE and call its register_jobs(registry, app)."),
    ] = None,
) -> None:
    """Serve the distributed job queue (VOS_JOBS__BACKEND=redis); start as many as you like."""
    settings = settings_or_exit()
    if settings.jobs.backend != "redis":
        raise fail("VOS_JOBS__BACKEND: `vos worker` serves the redis queue; set it to redis")
    setup_logging(settings)
    run_async(lambda: _checked_worker(settings, jobs_module or []))


async def _checked_worker(settings: Settings, jobs_modules: list[str]) -> None:
    from bot.errors import check_redis
    from bot.worker import run_worker

    await check_redis(settings.jobs.redis_url)  # one line, not a traceback, when Redis is not there
    await run_worker(settings, jobs_modules)


# --- operators ----------------------------------------------------------------------------------------


def _not_utf8(argument: str) -> bool:
    """Whether a command-line argument held bytes that are not UTF-8 (Python keeps them as surrogates)."""
    try:
        argument.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def main() -> None:
    """Entry point of the ``vos`` script."""
    for number, argument in enumerate(sys.argv[1:], 1):
        if _not_utf8(argument):
            typer.echo(f"vos: argument {number} is not UTF-8 text; retype it", err=True)
            raise SystemExit(1)
    try:
        app()
    except Exception as exc:  # a command without run_async (sync work): the same one line for known mistakes
        line = explain(exc)
        if line is None:
            raise
        typer.echo(f"vos: {line}", err=True)
        raise SystemExit(1) from None
