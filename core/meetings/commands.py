"""Chat commands for meetings: ``/meeting`` (send a recording, get a summary, transcript and chart),
``/meetings`` (the list) and ``/ask`` (questions over the user's meetings). Any adapter renders them.

Meetings belong to the user, or, for events from a Discord server (the event's ``space`` is that guild), to
that server: every member of it shares the server's archive and nobody else sees it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from core.command_table import CommandSpec, Feature, Section, Shown
from core.context import Context, FlowState
from core.domain.actions import Action, DeleteProgress, SendFile, SendText, ShowProgress
from core.domain.events import CommandInvoked, FileUploaded, VoiceMessage
from core.domain.identity import Locale, SpaceKind
from core.domain.meetings import Meeting, MeetingScope, MeetingStatus
from core.i18n import t
from core.jobs.ports import JobQueue, JobStatus, JobUpdate
from core.meetings.exports import ExportFormat, timestamp
from core.meetings.jobs import MEETING_IMPORT, import_payload
from core.meetings.records import summary_locale
from core.meetings.service import MeetingService, QuestionTooLong
from core.meetings.summary import MeetingSummary
from core.storage.outbox import Outbox

_MAX_TEXT = 3500


def _at(times: tuple[float, ...]) -> str:
    return ", ".join(timestamp(x, hours=False) for x in times) or "--:--"


def summary_text(meeting: Meeting, summary: MeetingSummary, speakers: int, locale: Locale) -> str:
    """The summary as one chat message: abstract, decisions, action items, open questions, with times.

    Its headings are in the language the summary is written in (the meeting's), ``locale`` only when that
    is unknown: an English meeting reads "Decisions" to a Korean user, as its items do.
    """
    locale = summary_locale(summary.language or meeting.language, locale)

    def tr(key: str, **fields: object) -> str:
        return t(locale, key, **fields)

    out = [
        tr(
            "meetingflow.done",
            title=meeting.title,
            minutes=round(meeting.duration_s / 60, 1),
            speakers=speakers,
        )
    ]
    out += ["", f"■ {tr('meetings.export.abstract')}", summary.abstract or tr("meetingflow.none")]
    sections: list[tuple[str, list[str]]] = [
        (
            "meetings.export.decisions",
            [tr("meetingflow.point", time=_at(p.at), text=p.text) for p in summary.decisions],
        ),
        (
            "meetings.export.action_items",
            [
                tr(
                    "meetingflow.action",
                    time=_at(a.at),
                    text=a.text,
                    meta=_action_meta(a.owner, a.due_text(), locale),
                )
                for a in summary.action_items
            ],
        ),
        (
            "meetings.export.open_questions",
            [tr("meetingflow.point", time=_at(q.at), text=q.text) for q in summary.open_questions],
        ),
    ]
    for key, lines in sections:
        out += (
            ["", f"■ {tr(key)}", *(f"• {line}" for line in lines)]
            if lines
            else ["", f"■ {tr(key)}", tr("meetingflow.none")]
        )
    text = "\n".join(out)
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def _action_meta(owner: str | None, due: str | None, locale: Locale) -> str:
    parts = [
        t(locale, "meetings.export.owner", owner=owner) if owner else "",
        t(locale, "meetings.export.due", due=due) if due else "",
    ]
    meta = "; ".join(p for p in parts if p)
    return f" ({meta})" if meta else ""


def status_text(meeting: Meeting, locale: Locale) -> str:
    """A meeting's job status in words."""
    match meeting.status:
        case MeetingStatus.DONE:
            return t(locale, "meetingflow.status_done")
        case MeetingStatus.FAILED:
            return t(locale, "meetingflow.status_failed", error=(meeting.error or "")[:120])
        case MeetingStatus.QUEUED:
            return t(locale, "meetingflow.status_queued")
        case MeetingStatus.PROCESSING:
            return t(locale, "meetingflow.status_processing", percent=round(meeting.progress * 100))


def meeting_scope(ctx: Context) -> MeetingScope:
    """The archive an event belongs to: its Discord server's (the typed ``space``), else the user's."""
    space = ctx.event.space
    if space is not None and space.kind is SpaceKind.GUILD:
        return MeetingScope.of_guild(space.id)
    return MeetingScope.of_user(ctx.user.id)


class MeetingCommands:
    """``/meeting``, ``/meetings`` and ``/ask``; :meth:`feature` declares them."""

    kind = "meeting"

    def __init__(
        self,
        service: MeetingService,
        *,
        jobs: JobQueue,
        outbox: Outbox,
        max_upload_bytes: int,
        processes_here: bool = True,
    ) -> None:
        self.service = service
        self.jobs = jobs
        self.outbox = outbox  # transcripts and charts: deleted once delivered, after a TTL, by /forget_me
        # Whether this process runs the import jobs (the local runner): then it can tell before the upload
        # that it lacks the engines. With workers (Redis), they have the engines, not necessarily the bot.
        self.processes_here = processes_here
        self.max_upload_bytes = max_upload_bytes

    def feature(self) -> Feature:
        """The meeting commands (Discord: the ``/meeting`` group), the upload flow, and the eraser of the
        user's own meetings (a server's archive stays the server's)."""
        return Feature(
            commands=(
                CommandSpec(
                    name="meeting",
                    handler=self.meeting,
                    section=Section.MEETINGS,
                    discord=("meeting upload", "meeting summary", "meeting export"),
                ),
                CommandSpec(
                    name="meetings",
                    handler=self.meetings,
                    section=Section.MEETINGS,
                    shown=Shown.HELP,
                    discord=("meeting list",),
                ),
                CommandSpec(name="ask", handler=self.ask, section=Section.MEETINGS, discord=("meeting ask",)),
            ),
            flows=(self,),
            erasers=(self._forget_user,),
        )

    async def _forget_user(self, user_id: str) -> None:
        await self.service.delete_all(MeetingScope.of_user(user_id))

    async def meeting(self, ctx: Context) -> AsyncIterator[Action]:
        """``meeting`` alone starts the upload flow; ``meeting list``, ``meeting summary [ref]``,
        ``meeting export [ref]`` and ``meeting ask <question>`` do what they say (Discord's subcommands
        arrive this way). ``ref``: an id prefix as ``list`` shows it, or a title; none: the latest."""
        args = ctx.event.args.strip() if isinstance(ctx.event, CommandInvoked) else ""
        sub, _, rest = args.partition(" ")
        match sub.lower():
            case "":
                gen = self._start_upload(ctx)
            case "list":
                gen = self.meetings(ctx)
            case "summary":
                gen = self._summary(ctx, rest.strip())
            case "export":
                gen = self._export(ctx, rest.strip())
            case "ask":
                gen = self._ask(ctx, rest.strip())
            case _:
                gen = _say(ctx.tr("lifetimes.meeting_usage"))
        async for action in gen:
            yield action

    async def _start_upload(self, ctx: Context) -> AsyncIterator[Action]:
        """Ask for the recording (refused before asking when this process lacks the engines)."""
        missing = self.service.unavailable() if self.processes_here else None
        if missing is not None:
            yield SendText(
                text=ctx.tr(
                    "common.not_available",
                    feature=ctx.tr("lines.meeting_feature"),
                    extra=missing.extra or "speech",
                )
            )
            return
        async for action in ctx.start_flow(self.kind):
            yield action

    async def _find(self, ctx: Context, ref: str) -> Meeting | None:
        """The scope's meeting named by ``ref`` (id prefix or title); the latest processed one without."""
        items = await self.service.list_meetings(meeting_scope(ctx))
        if not ref:
            return next((m for m in items if m.status is MeetingStatus.DONE), None)
        wanted = ref.casefold()
        return next(
            (m for m in items if m.id.startswith(wanted) or m.title.casefold() == wanted),
            None,
        )

    async def _summary(self, ctx: Context, ref: str) -> AsyncIterator[Action]:
        meeting = await self._find(ctx, ref)
        if meeting is None:
            yield SendText(text=ctx.tr("lifetimes.meeting_not_found", ref=ref[:40]))
            return
        if meeting.status is not MeetingStatus.DONE or meeting.summary is None:
            yield SendText(text=status_text(meeting, ctx.locale))
            return
        summary = MeetingSummary.from_dict(dict(meeting.summary))
        segments = await self.service.transcript(meeting.scope, meeting.id) or []
        speakers = len({s.speaker for s in segments if s.speaker})
        yield SendText(text=summary_text(meeting, summary, speakers, ctx.locale))

    async def _export(self, ctx: Context, ref: str) -> AsyncIterator[Action]:
        meeting = await self._find(ctx, ref)
        if meeting is None:
            yield SendText(text=ctx.tr("lifetimes.meeting_not_found", ref=ref[:40]))
            return
        markdown = await self.service.export(meeting.scope, meeting.id, ExportFormat.MD, ctx.locale)
        if markdown is None or meeting.status is not MeetingStatus.DONE:
            yield SendText(text=status_text(meeting, ctx.locale))
            return
        path = await self.outbox.write(ctx.user.id, meeting.id, ".md", markdown)
        yield SendFile(
            path=path,
            filename=f"{meeting.title}.md",
            caption=ctx.tr("meetingflow.export_caption", title=meeting.title),
            temporary=True,
        )

    async def meetings(self, ctx: Context) -> AsyncIterator[Action]:
        """The user's meetings."""
        items = await self.service.list_meetings(meeting_scope(ctx))
        if not items:
            yield SendText(text=ctx.tr("meetingflow.list_empty"))
            return
        lines = [ctx.tr("meetingflow.list_header")] + [
            ctx.tr(
                "meetingflow.list_entry",
                date=m.created_at.date().isoformat(),
                title=m.title,
                status=status_text(m, ctx.locale),
                id=m.id[:8],
            )
            for m in items[:20]
        ]
        yield SendText(text="\n".join(lines))

    async def ask(self, ctx: Context) -> AsyncIterator[Action]:
        """Answer a question from the user's meetings, citing meeting, time and speaker."""
        question = ctx.event.args.strip() if isinstance(ctx.event, CommandInvoked) else ""
        async for action in self._ask(ctx, question):
            yield action

    async def _ask(self, ctx: Context, question: str) -> AsyncIterator[Action]:
        if not question:
            yield SendText(text=ctx.tr("meetingflow.ask_usage"))
            return
        try:
            answer = await self.service.ask(meeting_scope(ctx), question, ctx.locale)
        except QuestionTooLong as exc:
            yield SendText(text=ctx.tr("lifetimes.question_too_long", limit=exc.limit))
            return
        yield SendText(text=answer.text[:_MAX_TEXT])

    # --- the upload flow ---------------------------------------------------------------------------

    async def start(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        """Ask for the recording."""
        state.goto("file")
        yield SendText(text=ctx.tr("meetingflow.ask_file"))

    async def on_event(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        """Take the recording and process it, showing progress."""
        event = ctx.event
        if not isinstance(event, FileUploaded | VoiceMessage):
            yield SendText(text=ctx.tr("meetingflow.not_a_file"))
            return
        upload = event.file
        if not upload.live_capture and upload.size > self.max_upload_bytes:
            yield SendText(
                text=ctx.tr(
                    "meetingflow.too_large",
                    size_mb=f"{upload.size / 1e6:.1f}",
                    limit_mb=f"{self.max_upload_bytes / 1e6:.0f}",
                )
            )
            return
        state.finish()
        title = (getattr(event, "caption", "") or Path(upload.filename).stem or "meeting")[:200]
        async for action in self._process(ctx, upload.path, title, live=upload.live_capture):
            yield action

    async def _process(
        self, ctx: Context, path: Path, title: str, *, live: bool = False
    ) -> AsyncIterator[Action]:
        """Store the recording, submit its ``meeting_import`` job and edit one progress message until done.

        The job runs wherever the queue runs it (this process, or a worker); closing this generator early
        (the adapter went away) leaves the job running and its result stored.
        """
        progress_id = f"meeting-{ctx.user.id[:8]}"
        yield ShowProgress(progress_id=progress_id, text=ctx.tr("meetingflow.working"), fraction=0.0)
        meeting = await self.service.create_import(
            meeting_scope(ctx), path, title=title, created_by=ctx.user.id
        )
        job_id = await self.jobs.submit(
            MEETING_IMPORT,
            import_payload(meeting, locale=ctx.locale, live=live),
            owner_id=ctx.user.id,
            chat_id=ctx.event.chat_id,
            idempotency_key=meeting.id,
        )
        shown = (-1.0, "")
        final: JobUpdate | None = None
        async for update in self.jobs.watch(job_id):
            if update.final:  # the watch ends after its final update
                final = update
                continue
            fraction, stage = update.fraction, update.text
            # One edit per stage change or 10 %, so chats are not flooded (Telegram allows ~1/s).
            if stage != shown[1] or fraction - shown[0] >= 0.1:
                shown = (fraction, stage)
                label = ctx.tr(f"meetingflow.stage.{stage}") if stage in _STAGES else stage
                yield ShowProgress(
                    progress_id=progress_id,
                    text=ctx.tr("meetingflow.progress", stage=label, percent=round(fraction * 100)),
                    fraction=fraction,
                )
        yield DeleteProgress(progress_id=progress_id)
        stored = await self.service.get(meeting.scope, meeting.id)
        if stored is None or final is None or final.status is not JobStatus.DONE:
            error = (stored.error if stored is not None else None) or (final.error if final else None)
            yield SendText(text=ctx.tr("meetingflow.failed", error=(error or "?")[:300]))
            return
        async for action in self._results(ctx, stored):
            yield action

    async def _results(self, ctx: Context, meeting: Meeting) -> AsyncIterator[Action]:
        if meeting.status is not MeetingStatus.DONE or meeting.summary is None:
            yield SendText(text=ctx.tr("meetingflow.failed", error=(meeting.error or "?")[:300]))
            return
        scope = meeting.scope
        summary = MeetingSummary.from_dict(dict(meeting.summary))
        speakers = len(
            {s.speaker for s in await self.service.transcript(scope, meeting.id) or [] if s.speaker}
        )
        yield SendText(text=summary_text(meeting, summary, speakers, ctx.locale))
        markdown = await self.service.export(scope, meeting.id, ExportFormat.MD, ctx.locale)
        chart = await self.service.talk_time_png(scope, meeting.id, ctx.locale)
        if markdown is not None:
            md_path = await self.outbox.write(ctx.user.id, meeting.id, ".md", markdown)
            yield SendFile(
                path=md_path,
                filename=f"{meeting.title}.md",
                caption=ctx.tr("meetingflow.export_caption", title=meeting.title),
                temporary=True,
            )
        if chart is not None:
            png_path = await self.outbox.write(ctx.user.id, meeting.id, ".png", chart)
            yield SendFile(
                path=png_path,
                filename=f"{meeting.title}-talktime.png",
                caption=ctx.tr("meetingflow.talktime_caption", title=meeting.title),
                temporary=True,
            )


async def _say(text: str) -> AsyncIterator[Action]:
    yield SendText(text=text)


_STAGES = frozenset({"decode", "separate", "transcribe", "summarize", "index", "done"})
