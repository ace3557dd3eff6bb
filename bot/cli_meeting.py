"""``vos meeting``: import recordings, summaries, questions, exports, corrections, enrolment."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.cli_common import (
    GuildOpt,
    JsonOpt,
    LanguageOpt,
    SpeakersOpt,
    UserOpt,
    fail,
    run_async,
    settings_or_exit,
    setup_logging,
)

meeting_app = typer.Typer(no_args_is_help=True, help="Meetings: import, summaries, search, exports.")


@meeting_app.command("import")
def meeting_import(
    file: Path,
    *,
    title: Annotated[str | None, typer.Option(help="The meeting's title (default: the file name).")] = None,
    language: LanguageOpt = None,
    speakers: SpeakersOpt = None,
    user: UserOpt = "local",
    guild: GuildOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Import a recording, or a Craig zip of per-speaker tracks; progress on stderr."""
    from bot.meetings import cli_import

    if not file.is_file():
        raise fail(f"{file}: no such file")
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
        raise fail(f"import failed: {result['error']}", 1)


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
def meeting_summary(
    meeting_id: str, user: UserOpt = "local", guild: GuildOpt = None, json_out: JsonOpt = False
) -> None:
    """A meeting's abstract, decisions, action items (owner, due) and open questions."""
    from bot.meetings import cli_summary

    settings = settings_or_exit()
    result = run_async(lambda: cli_summary(settings, user, guild, meeting_id, as_json=json_out))
    if result is None:
        raise fail(f"no processed meeting {meeting_id!r} for this user", 1)
    typer.echo(json.dumps(result, ensure_ascii=False) if isinstance(result, dict) else result)


@meeting_app.command("ask")
def meeting_ask(
    question: str, user: UserOpt = "local", guild: GuildOpt = None, json_out: JsonOpt = False
) -> None:
    """Ask a question across your meetings; answers cite meeting, time and speaker."""
    from bot.meetings import cli_ask

    settings = settings_or_exit()
    limit = settings.limits.max_question_chars
    if len(question) > limit:
        raise fail(f"the question is {len(question)} characters long; ask it in at most {limit}", 2)
    setup_logging(settings)
    result = run_async(lambda: cli_ask(settings, user, guild, question))
    typer.echo(json.dumps(result, ensure_ascii=False) if json_out else result["answer"])


@meeting_app.command("export")
def meeting_export(
    meeting_id: str,
    *,
    fmt: Annotated[str, typer.Option("--format", help="md, srt, vtt, json, docx or pdf")] = "md",
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
        raise fail("--format must be md, srt, vtt, json, docx or pdf") from None
    if export_format in (ExportFormat.DOCX, ExportFormat.PDF) and out is None:
        raise fail(f"--format {export_format.value} needs --out PATH")
    settings = settings_or_exit()
    result = run_async(lambda: cli_export(settings, user, guild, meeting_id, export_format))
    if result is None:
        raise fail(f"no meeting {meeting_id!r} for this user", 1)
    data, _name = result
    if out is None:
        sys.stdout.write(data.decode("utf-8"))
        sys.stdout.flush()
        return
    out.write_bytes(data)
    typer.echo(f"wrote {out} ({len(data)} bytes)", err=True)


@meeting_app.command("correct")
def meeting_correct(
    meeting_id: str,
    index: Annotated[
        int, typer.Argument(min=0, help="The segment's 0-based position (as in the JSON export's segments).")
    ],
    text: Annotated[str, typer.Argument(help="The corrected text of that segment.")],
    *,
    user: UserOpt = "local",
    guild: GuildOpt = None,
) -> None:
    """Correct a transcript segment; the summary, search and every export follow."""
    from bot.meetings import cli_correct

    if not text.strip():
        raise fail("the corrected text is empty")
    settings = settings_or_exit()
    setup_logging(settings)
    if not run_async(lambda: cli_correct(settings, user, guild, meeting_id, index=index, text=text)):
        raise fail(f"no segment {index} in meeting {meeting_id!r} for this user", 1)
    typer.echo(f"segment {index} corrected")


@meeting_app.command("enroll")
def meeting_enroll(
    name: Annotated[str, typer.Argument(help="The name later meetings show for this voice.")],
    file: Annotated[Path, typer.Argument(help="A recording of this one person (10-30 s of speech).")],
    *,
    agree: Annotated[
        bool, typer.Option("--agree", help="Record consent to the enrolment wording without asking.")
    ] = False,
    member: Annotated[
        str | None, typer.Option("--member", help="With --guild: the member's Discord id (for /optout).")
    ] = None,
    user: UserOpt = "local",
    guild: GuildOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Enrol a voice once, so later imports name its speaker (consent is asked and recorded)."""
    from bot.meetings import cli_enroll
    from core.ports import EngineUnavailable
    from core.voice.audio import AudioError

    if not file.is_file():
        raise fail(f"{file}: no such file")
    if member is not None and (guild is None or not member.isdigit()):
        raise fail("--member is a Discord user id, and needs --guild")
    settings = settings_or_exit()
    setup_logging(settings)

    def confirm(wording: str) -> bool:
        typer.echo(wording, err=True)
        return agree or typer.confirm("Do you agree?", default=False, err=True)

    try:
        result = run_async(
            lambda: cli_enroll(settings, user, guild, name, file, member=member, confirm=confirm)
        )
    except EngineUnavailable as exc:
        raise fail(f"voice enrolment is not available: {exc} (install the 'voice' extra)", 1) from None
    except AudioError as exc:
        raise fail(exc.message("en"), 1) from None
    if not result["enrolled"]:
        raise fail("nothing enrolled: consent was not given", 1)
    if json_out:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        seconds, scope = result["speech_seconds"], result["scope"]
        typer.echo(f"enrolled {result['name']} ({seconds:.1f} s of speech, {scope})")


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
        raise fail(f"no speaker {label!r} in meeting {meeting_id!r} for this user", 1)
    typer.echo(f"{label} -> {name}")


# --- jobs -------------------------------------------------------------------------------------------
