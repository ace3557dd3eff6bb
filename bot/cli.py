"""The ``vos`` command line."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from bot.memory_cli import memory_app
from bot.settings import Settings, SettingsError, load_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="VOS: Voice of the Star.")
db_app = typer.Typer(no_args_is_help=True, help="Database migrations.")
kakao_app = typer.Typer(no_args_is_help=True, help="KakaoTalk exports.")
star_app = typer.Typer(no_args_is_help=True, help="Stars.")
safety_app = typer.Typer(no_args_is_help=True, help="The safety guard.")
voice_app = typer.Typer(no_args_is_help=True, help="Voices: speaker separation.")
app.add_typer(db_app, name="db")
app.add_typer(kakao_app, name="kakao")
app.add_typer(star_app, name="star")
app.add_typer(safety_app, name="safety")
app.add_typer(voice_app, name="voice")
app.add_typer(memory_app, name="memory")

T = TypeVar("T")
UserOpt = Annotated[str, typer.Option("--user", help="The local user id (the console user is 'local').")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"vos: {message}", err=True)
    return typer.Exit(code)


def settings_or_exit(**overrides: Any) -> Settings:
    """Load settings, turning any error into one line naming the setting."""
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        raise _fail(str(exc)) from None


def setup_logging(settings: Settings) -> None:
    """Log to stderr; keep HTTP clients quiet (their URLs can contain tokens)."""
    logging.basicConfig(
        level=settings.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("httpx", "httpcore", "telegram.ext", "apscheduler", "aiosqlite", "openai", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run_async(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine; Ctrl-C exits quietly, SIGTERM (``docker stop``, systemd) stops it the same way."""

    async def main() -> T:
        # Without a handler SIGTERM kills at once (PID 1 in a container: not at all, until SIGKILL),
        # skipping the graceful stop: replies in flight lost, polled updates fetched again.
        loop, task = asyncio.get_running_loop(), asyncio.current_task()
        assert task is not None
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            return await coro_fn()
        finally:
            loop.remove_signal_handler(signal.SIGTERM)

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except asyncio.CancelledError:  # SIGTERM: asked to stop, and stopped
        raise typer.Exit(0) from None


@app.command()
def run() -> None:
    """Start every configured adapter (the console when no platform token is set)."""
    from bot.runner import run_bot
    from bot.telegram_shards import ShardDied

    settings = settings_or_exit()
    setup_logging(settings)
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
        raise _fail(f"{first}; stopping so that the bot restarts as a whole", 1) from None


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
    setup_logging(settings)
    run_async(lambda: run_console(settings, script=script, user_id=user, locale=locale, demo=demo))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Upgrade the database to the newest schema."""
    from core.storage.migrate import upgrade_sync

    settings = settings_or_exit()
    try:
        upgrade_sync(settings.effective_database_url)
    except Exception as exc:
        raise _fail(f"VOS_DATABASE_URL: upgrade failed ({type(exc).__name__}: {str(exc)[:200]})") from None
    typer.echo("database is up to date")


@db_app.command("check")
def db_check() -> None:
    """Fail when the models and the migrations disagree."""
    from core.storage.migrate import SchemaDriftError, check_sync

    settings = settings_or_exit()
    try:
        check_sync(settings.effective_database_url)
    except SchemaDriftError as exc:
        raise _fail(f"schema drift: {exc}", 1) from None
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


@kakao_app.command("inspect")
def kakao_inspect(
    file: Path,
    json_out: JsonOpt = False,
    messages: Annotated[bool, typer.Option("--messages", help="Include every message.")] = False,
) -> None:
    """Detect an export's shape and encoding and count its participants and messages."""
    from core.personas.kakao import KakaoParseError, inspect_export

    if not file.is_file():
        raise _fail(f"{file}: no such file")
    try:
        info = inspect_export(file, with_messages=messages)
    except KakaoParseError as exc:
        raise _fail(f"{file}: {exc.user_message('en')}", 1) from None
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
    result = run_async(lambda: cli_create_star(settings, user, name, export, participant, relation, notes))
    if json_out:
        typer.echo(json.dumps(result, ensure_ascii=False))
    elif "error" in result:
        raise _fail(result["error"], 1)
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
        raise _fail(result["error"], 1)
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
        Path | None, typer.Option("--jsonl", help="Check every JSON line of this file ('-' = stdin).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Run the safety guard on a text (or many, with --jsonl)."""
    from core.safety.check import SafetyGuard, check_jsonl_lines, verdict_json

    if role not in {"user", "star", "speech"}:
        raise _fail("--role must be user, star or speech")
    guard = SafetyGuard(model=None)
    if jsonl is not None:
        if str(jsonl) != "-" and not jsonl.is_file():
            raise _fail(f"{jsonl}: no such file")

        with sys.stdin if str(jsonl) == "-" else jsonl.open(encoding="utf-8") as fh:
            for line in check_jsonl_lines(fh, guard):
                typer.echo(line)
        return
    if text is None:
        raise _fail("give a TEXT or --jsonl FILE")
    verdict = run_async(lambda: guard.check(text, role=role))  # type: ignore[arg-type]
    data = verdict_json(verdict)
    typer.echo(
        json.dumps(data, ensure_ascii=False)
        if json_out
        else f"{data['verdict']}: {', '.join(data['reasons'])}"
    )


def _audio_command(coro_fn: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    from core.ports import EngineUnavailable
    from core.voice.audio import AudioError

    try:
        return run_async(coro_fn)
    except AudioError as exc:
        raise _fail(exc.message("en"), 1) from None
    except EngineUnavailable as exc:
        hint = f" (pip install 'vos[{exc.extra}]')" if exc.extra else ""
        raise _fail(f"{exc}{hint}", 1) from None


@voice_app.command("separate")
def voice_separate(
    file: Path,
    speakers: Annotated[
        int | None, typer.Option("--speakers", min=1, max=8, help="How many people speak.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Separate the speakers of a recording: who spoke when, and a sample clip of each."""
    from bot.media import separate_file

    if not file.is_file():
        raise _fail(f"{file}: no such file")
    settings = settings_or_exit()
    result = _audio_command(lambda: separate_file(settings, file, speakers))
    if json_out:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    for spk in result["speakers"]:
        sample = spk["sample"]
        typer.echo(
            f"{spk['label']}: {spk['seconds']:.1f}s (sample {sample['start']:.1f}-{sample['end']:.1f}s)"
        )


@app.command()
def transcribe(
    file: Path,
    language: Annotated[str | None, typer.Option(help="ko, en... (default: detect)")] = None,
    speakers: Annotated[
        int | None, typer.Option("--speakers", min=1, max=8, help="How many people speak.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Transcribe a recording with speakers (faster-whisper; diarization with the voice extra)."""
    from bot.media import transcribe_file

    if not file.is_file():
        raise _fail(f"{file}: no such file")
    settings = settings_or_exit()
    result = _audio_command(lambda: transcribe_file(settings, file, language, speakers))
    if json_out:
        typer.echo(json.dumps(result["segments"], ensure_ascii=False))
        return
    for seg in result["segments"]:
        typer.echo(f"[{seg['start']:7.1f}] {seg['speaker'] or '-'}: {seg['text']}")


# --- meetings ---------------------------------------------------------------------------------------

meeting_app = typer.Typer(no_args_is_help=True, help="Meetings: import, summaries, search, exports.")
app.add_typer(meeting_app, name="meeting")
GuildOpt = Annotated[
    str | None, typer.Option("--guild", help="Work in a Discord guild's meetings instead of the user's.")
]


@meeting_app.command("import")
def meeting_import(
    file: Path,
    *,
    title: Annotated[str | None, typer.Option(help="The meeting's title (default: the file name).")] = None,
    language: Annotated[str | None, typer.Option(help="ko, en... (default: detect)")] = None,
    speakers: Annotated[
        int | None, typer.Option("--speakers", min=1, max=8, help="How many people speak.")
    ] = None,
    user: UserOpt = "local",
    guild: GuildOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Import a recording, or a Craig zip of per-speaker tracks; progress on stderr."""
    from bot.meetings import cli_import

    if not file.is_file():
        raise _fail(f"{file}: no such file")
    settings = settings_or_exit()
    setup_logging(settings)
    result = run_async(
        lambda: cli_import(settings, user, guild, file, title=title, language=language, speakers=speakers)
    )
    if json_out:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        typer.echo(f"{result['id']}  {result['status']}  {result['title']}  {result['duration']:.0f}s")
    if result["status"] != "done":
        raise _fail(f"import failed: {result['error']}", 1)


@meeting_app.command("list")
def meeting_list(user: UserOpt = "local", guild: GuildOpt = None, json_out: JsonOpt = False) -> None:
    """The meetings of the user (or guild), newest first."""
    from bot.meetings import cli_list

    settings = settings_or_exit()
    items = run_async(lambda: cli_list(settings, user, guild))
    if json_out:
        typer.echo(json.dumps(items, ensure_ascii=False))
        return
    for m in items:
        extra = f"  ({m['error']})" if m["error"] else ""
        typer.echo(f"{m['id']}  {m['created_at'][:16]}  {m['status']:<10}  {m['title']}{extra}")


@meeting_app.command("summary")
def meeting_summary(meeting_id: str, user: UserOpt = "local", guild: GuildOpt = None) -> None:
    """A meeting's abstract, decisions, action items and open questions."""
    from bot.meetings import cli_summary

    settings = settings_or_exit()
    text = run_async(lambda: cli_summary(settings, user, guild, meeting_id))
    if text is None:
        raise _fail(f"no processed meeting {meeting_id!r} for this user", 1)
    typer.echo(text)


@meeting_app.command("ask")
def meeting_ask(
    question: str, user: UserOpt = "local", guild: GuildOpt = None, json_out: JsonOpt = False
) -> None:
    """Ask a question across your meetings; answers cite meeting, time and speaker."""
    from bot.meetings import cli_ask

    settings = settings_or_exit()
    setup_logging(settings)
    result = run_async(lambda: cli_ask(settings, user, guild, question))
    typer.echo(json.dumps(result, ensure_ascii=False) if json_out else result["answer"])


@meeting_app.command("export")
def meeting_export(
    meeting_id: str,
    *,
    fmt: Annotated[str, typer.Option("--format", help="md, srt, vtt, json or docx")] = "md",
    out: Annotated[Path | None, typer.Option("--out", help="Write here (default: stdout).")] = None,
    user: UserOpt = "local",
    guild: GuildOpt = None,
) -> None:
    """Export a meeting with speakers and timestamps."""
    from bot.meetings import cli_export
    from core.meetings.exports import ExportFormat

    try:
        export_format = ExportFormat(fmt)
    except ValueError:
        raise _fail("--format must be md, srt, vtt, json or docx") from None
    if export_format is ExportFormat.DOCX and out is None:
        raise _fail("--format docx needs --out PATH")
    settings = settings_or_exit()
    result = run_async(lambda: cli_export(settings, user, guild, meeting_id, export_format))
    if result is None:
        raise _fail(f"no meeting {meeting_id!r} for this user", 1)
    data, _name = result
    if out is None:
        sys.stdout.write(data.decode("utf-8"))
        sys.stdout.flush()
        return
    out.write_bytes(data)
    typer.echo(f"wrote {out} ({len(data)} bytes)", err=True)


@meeting_app.command("rename")
def meeting_rename(
    meeting_id: str,
    label: Annotated[str, typer.Argument(help="The speaker's label (S1) or current name.")],
    name: Annotated[str, typer.Argument(help="The new name.")],
    *,
    user: UserOpt = "local",
    guild: GuildOpt = None,
) -> None:
    """Rename a speaker of a meeting."""
    from bot.meetings import cli_rename

    settings = settings_or_exit()
    if not run_async(lambda: cli_rename(settings, user, guild, meeting_id, label=label, name=name)):
        raise _fail(f"no speaker {label!r} in meeting {meeting_id!r} for this user", 1)
    typer.echo(f"{label} -> {name}")


# --- jobs -------------------------------------------------------------------------------------------


@app.command()
def worker(
    jobs_module: Annotated[
        list[str] | None,
        typer.Option("--jobs-module", help="Also import MODULE and call its register_jobs(registry, app)."),
    ] = None,
) -> None:
    """Serve the distributed job queue (VOS_JOBS__BACKEND=redis); start as many as you like."""
    from bot.worker import run_worker

    settings = settings_or_exit()
    if settings.jobs.backend != "redis":
        raise _fail("VOS_JOBS__BACKEND: `vos worker` serves the redis queue; set it to redis")
    setup_logging(settings)
    run_async(lambda: run_worker(settings, jobs_module or []))


# --- operators ----------------------------------------------------------------------------------------

admin_app = typer.Typer(no_args_is_help=True, help="Operators: totals, jobs, a user's data, blobs.")
admin_jobs_app = typer.Typer(invoke_without_command=True, help="List jobs; retry or cancel one.")
admin_blobs_app = typer.Typer(no_args_is_help=True, help="The blob store: collect orphaned blobs.")
app.add_typer(admin_app, name="admin")
admin_app.add_typer(admin_jobs_app, name="jobs")
admin_app.add_typer(admin_blobs_app, name="blobs")


@admin_app.command("stats")
def admin_stats(json_out: JsonOpt = False) -> None:
    """Users, stars, meetings, jobs by status, and the queue depth (Redis; 0 for the local runner)."""
    from bot.admin import cli_stats, format_stats

    settings = settings_or_exit()
    data = run_async(lambda: cli_stats(settings))
    typer.echo(json.dumps(data, ensure_ascii=False) if json_out else format_stats(data))


@admin_jobs_app.callback()
def admin_jobs(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="queued, running, done, failed or cancelled")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many, newest first.")] = 50,
    json_out: JsonOpt = False,
) -> None:
    """The jobs table, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from bot.admin import cli_jobs, format_job

    settings = settings_or_exit()
    try:
        jobs = run_async(lambda: cli_jobs(settings, status, limit))
    except ValueError as exc:
        raise _fail(f"--status: {exc}") from None
    if json_out:
        typer.echo(json.dumps(jobs, ensure_ascii=False))
        return
    for job in jobs:
        typer.echo(format_job(job))


def _job_change(action: str, job_id: str, json_out: bool) -> None:
    from bot.admin import cli_job_change

    settings = settings_or_exit()
    change = run_async(lambda: cli_job_change(settings, action, job_id))
    if json_out:
        typer.echo(json.dumps(change, ensure_ascii=False))
    if not change["changed"]:
        raise _fail(f"job {job_id}: {change['reason']}", 1)
    if not json_out:
        typer.echo(f"job {job_id}: {change['status']}")


@admin_jobs_app.command("retry")
def admin_jobs_retry(job_id: str, json_out: JsonOpt = False) -> None:
    """Queue a failed or cancelled job again (the runner picks it up)."""
    _job_change("retry", job_id, json_out)


@admin_jobs_app.command("cancel")
def admin_jobs_cancel(job_id: str, json_out: JsonOpt = False) -> None:
    """Cancel a queued or running job (a running one stops at its next progress report)."""
    _job_change("cancel", job_id, json_out)


@admin_app.command("user")
def admin_user(
    user_ref: Annotated[
        str, typer.Argument(metavar="ID", help="A user id, or PLATFORM:ID (telegram:12345).")
    ],
    delete: Annotated[
        bool, typer.Option("--delete", help="Delete everything of the user (as /forget_me does).")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before --delete.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """What a user has (stars, chats, meetings, blobs, bytes); --delete deletes it on their request."""
    from bot.admin import cli_user, format_user

    settings = settings_or_exit()
    setup_logging(settings)
    if delete and not yes and not typer.confirm(f"Delete user {user_ref} and everything they have?"):
        raise typer.Exit(1)
    data = run_async(lambda: cli_user(settings, user_ref, delete=delete))
    if data is None:
        raise _fail(f"no user {user_ref!r}", 1)
    typer.echo(json.dumps(data, ensure_ascii=False) if json_out else format_user(data))


@admin_blobs_app.command("gc")
def admin_blobs_gc(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be deleted; delete nothing.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Delete blobs nothing references any more, once older than VOS_BLOBS__GC_GRACE_HOURS (default 24)."""
    from bot.admin import cli_blobs_gc, format_blob_gc

    settings = settings_or_exit()
    setup_logging(settings)
    data = run_async(lambda: cli_blobs_gc(settings, dry_run=dry_run))
    if data is None:
        raise _fail("blob gc is running on another instance right now; try again later", 1)
    typer.echo(json.dumps(data, ensure_ascii=False) if json_out else format_blob_gc(data))


def main() -> None:
    """Entry point of the ``vos`` script."""
    app()
