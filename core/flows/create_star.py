"""The "create a star" flow: consent, name, relation, notes, dates, photo, export, participant, import."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from datetime import date
from enum import StrEnum

from core.context import Context, FlowState
from core.domain.actions import Action, AskChoice, DeleteProgress, FileKind, SendText, ShowProgress
from core.domain.events import ChoiceMade, FileUploaded, TextMessage
from core.domain.stars import NewStar
from core.flows.answers import Answer, yes_or_no
from core.flows.base import StepTable, flow_choice, flow_value
from core.flows.names import NameChoices
from core.personas.kakao import KakaoParseError
from core.personas.photo import MAX_PHOTO_BYTES, PhotoRejected, prepare_photo
from core.personas.stars import ExportTooLarge, StarService
from core.personas.style import describe
from core.ports import BlobStore, UserStore
from core.safety.disclosure import DataDisclosure

log = logging.getLogger(__name__)
_DATE = re.compile(r"(\d{4})[-./](\d{1,2})[-./](\d{1,2})")


def _choice_or_text(ctx: Context) -> tuple[str | None, str | None]:
    match ctx.event:
        case ChoiceMade(key=key):
            return flow_value(key), None
        case TextMessage(text=text):
            return None, text.strip()
        case _:
            return None, None


class CreateStep(StrEnum):
    """The steps of ``/new``; the values are what stored dialogs hold (keep them when renaming)."""

    CONSENT = "consent"
    NAME = "name"
    RELATION = "relation"
    NOTES = "notes"
    DATES = "dates"
    PHOTO = "photo"
    EXPORT = "export"
    PARTICIPANT = "participant"


class CreateStarFlow:
    """Builds a star step by step; any adapter renders the same questions."""

    kind = "create_star"

    def __init__(
        self,
        stars: StarService,
        blobs: BlobStore,
        users: UserStore,
        names: NameChoices | None = None,
        disclosure: DataDisclosure | None = None,
    ) -> None:
        self.stars = stars
        self.blobs = blobs
        self.users = users
        self.names = names
        self.disclosure = disclosure or DataDisclosure()
        self.steps = StepTable(
            CreateStep,
            {
                CreateStep.CONSENT: self._step_consent,
                CreateStep.NAME: self._step_name,
                CreateStep.RELATION: self._step_relation,
                CreateStep.NOTES: self._step_notes,
                CreateStep.DATES: self._step_dates,
                CreateStep.PHOTO: self._step_photo,
                CreateStep.EXPORT: self._step_export,
                CreateStep.PARTICIPANT: self._step_participant,
            },
        )

    def _consent_text(self, ctx: Context) -> str:
        """The attestation with the data notice: what is stored, where replies are made, keeping, deleting."""
        return self.disclosure.text(ctx.locale) + "\n\n" + ctx.tr("create.consent")

    async def start(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        """Ask for the 18+ and rights attestation first."""
        state.goto(CreateStep.CONSENT)
        yield AskChoice(
            prompt=self._consent_text(ctx),
            options=(flow_choice("yes", ctx.tr("common.yes")), flow_choice("no", ctx.tr("common.no"))),
        )

    async def on_event(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        """Advance one step."""
        async for action in self.steps.dispatch(ctx, state):
            yield action

    async def _step_consent(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        answer = yes_or_no(ctx.event)
        if answer is Answer.YES:
            state.data["consent_text"] = self._consent_text(ctx)
            state.goto(CreateStep.NAME)
            yield SendText(text=ctx.tr("create.ask_name"))
        elif answer is Answer.NO:
            state.finish()
            yield SendText(text=ctx.tr("create.consent_declined"))
        else:
            async for a in self.start(ctx, state):
                yield a

    async def _step_name(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        _, text = _choice_or_text(ctx)
        if not text or len(text) > 50:
            yield SendText(text=ctx.tr("create.bad_name"))
            return
        state.data["name"] = text
        state.goto(CreateStep.RELATION)
        yield SendText(text=ctx.tr("create.ask_relation"))

    async def _step_relation(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        _, text = _choice_or_text(ctx)
        state.data["relation"] = (text or "")[:100]
        state.goto(CreateStep.NOTES)
        yield AskChoice(
            prompt=ctx.tr("create.ask_notes"), options=(flow_choice("skip", ctx.tr("common.skip")),)
        )

    async def _step_notes(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        value, text = _choice_or_text(ctx)
        state.data["notes"] = "" if value == "skip" else (text or "")[:2000]
        state.goto(CreateStep.DATES)
        yield AskChoice(
            prompt=ctx.tr("create.ask_dates"), options=(flow_choice("skip", ctx.tr("common.skip")),)
        )

    async def _step_dates(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        value, text = _choice_or_text(ctx)
        if value != "skip":
            found = _DATE.findall(text or "")
            try:
                dates = [date(int(y), int(m), int(d)).isoformat() for y, m, d in found[:2]]
            except ValueError:
                dates = []
            if not dates:
                yield AskChoice(
                    prompt=ctx.tr("create.bad_dates"), options=(flow_choice("skip", ctx.tr("common.skip")),)
                )
                return
            state.data["birth_date"] = dates[0]
            state.data["death_date"] = dates[1] if len(dates) > 1 else None
        state.goto(CreateStep.PHOTO)
        yield self._ask_photo(ctx, state, "kakaoimport.ask_photo")

    @staticmethod
    def _ask_photo(ctx: Context, state: FlowState, key: str, **fields: object) -> AskChoice:
        return AskChoice(
            prompt=ctx.tr(key, name=state.data.get("name", ""), **fields),
            options=(flow_choice("skip", ctx.tr("common.skip")),),
            expects_file=FileKind.IMAGE,
        )

    async def _step_photo(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        """Optional: a photo of the star, stored without its metadata (see ``core.personas.photo``)."""
        value, text = _choice_or_text(ctx)
        if value == "skip" or (text or "").lower() in {"skip", "건너뛰기", "없음"}:
            state.goto(CreateStep.EXPORT)
            yield SendText(text=ctx.tr("create.ask_export"), expects_file=FileKind.KAKAO_EXPORT)
            return
        if not isinstance(ctx.event, FileUploaded):
            yield self._ask_photo(ctx, state, "kakaoimport.ask_photo")
            return
        upload = ctx.event.file
        try:
            if upload.size > MAX_PHOTO_BYTES:
                raise PhotoRejected("too_large", f"{upload.size} bytes")
            photo = await asyncio.to_thread(prepare_photo, upload.path)
        except PhotoRejected as exc:
            log.info("photo rejected: %s", exc)
            if exc.problem == "too_large":
                yield self._ask_photo(
                    ctx,
                    state,
                    "kakaoimport.photo_too_large",
                    size_mb=f"{upload.size / 1e6:.1f}",
                    limit_mb=f"{MAX_PHOTO_BYTES / 1e6:.0f}",
                )
            else:
                yield self._ask_photo(ctx, state, "kakaoimport.photo_not_image")
            return
        state.data["photo_blob"] = await self.blobs.put_bytes(photo.jpeg)
        state.goto(CreateStep.EXPORT)
        yield SendText(text=ctx.tr("kakaoimport.photo_saved"))
        yield SendText(text=ctx.tr("create.ask_export"), expects_file=FileKind.KAKAO_EXPORT)

    async def _step_export(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        if not isinstance(ctx.event, FileUploaded):
            yield SendText(text=ctx.tr("create.ask_export"), expects_file=FileKind.KAKAO_EXPORT)
            return
        upload = ctx.event.file
        try:
            self.stars.check_size(upload.size)
            export = await self.stars.parse(upload.path)
        except ExportTooLarge as exc:
            yield SendText(
                text=ctx.tr(
                    "create.too_large", size_mb=f"{exc.size / 1e6:.1f}", limit_mb=f"{exc.limit / 1e6:.0f}"
                )
            )
            return
        except KakaoParseError as exc:
            log.info("export rejected: %s", exc)
            yield SendText(text=ctx.tr("create.parse_failed", reason=exc.user_message(ctx.locale)))
            return
        participants = sorted(export.participants().items(), key=lambda kv: (-kv[1], kv[0]))
        if not participants:
            yield SendText(text=ctx.tr("create.parse_failed", reason="0"))
            return
        key = await self.blobs.put_file(upload.path)
        state.data["export_blob"] = key
        state.data["export_filename"] = upload.filename
        state.data["participants"] = [name for name, _ in participants]
        if export.skipped_lines:
            yield SendText(text=ctx.tr("create.skipped_lines", count=export.skipped_lines))
        state.goto(CreateStep.PARTICIPANT)
        yield AskChoice(
            prompt=ctx.tr("create.choose_participant", name=state.data["name"]),
            options=tuple(
                flow_choice(f"p{i}", ctx.tr("create.participant_option", name=name, count=count))
                for i, (name, count) in enumerate(participants[:10])
            ),
        )

    async def _step_participant(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        value, text = _choice_or_text(ctx)
        names: list[str] = list(state.data.get("participants", []))
        chosen: str | None = None
        if value and value.startswith("p") and value[1:].isdigit() and int(value[1:]) < len(names):
            chosen = names[int(value[1:])]
        elif text in names:
            chosen = text
        elif text and text.isdigit() and 1 <= int(text) <= len(names):
            chosen = names[int(text) - 1]
        if chosen is None:
            yield AskChoice(
                prompt=ctx.tr("create.choose_participant", name=state.data["name"]),
                options=tuple(flow_choice(f"p{i}", n) for i, n in enumerate(names[:10])),
            )
            return
        progress = f"import-{ctx.user.id[:8]}"
        yield ShowProgress(progress_id=progress, text=ctx.tr("create.importing"), fraction=None)
        new = NewStar(
            owner_id=ctx.user.id,
            name=state.data["name"],
            relation=state.data.get("relation", ""),
            participant=chosen,
            notes=state.data.get("notes", ""),
            birth_date=date.fromisoformat(state.data["birth_date"]) if state.data.get("birth_date") else None,
            death_date=date.fromisoformat(state.data["death_date"]) if state.data.get("death_date") else None,
            photo_blob=state.data.get("photo_blob"),
            export_filename=state.data.get("export_filename", ""),
        )
        result = await self.stars.create(
            new, state.data["export_blob"], consent_text=state.data["consent_text"]
        )
        await self.users.set_active_star(ctx.user.id, result.star.id)
        state.finish()
        yield DeleteProgress(progress_id=progress)
        yield SendText(text=ctx.tr("create.done", name=result.star.name, count=result.imported))
        yield SendText(text=describe(result.profile, ctx.locale))
        # No AI notice here: the engine gives it once, above the star's first reply (core.engine).
        if self.names is not None:
            yield await self.names.ask_address_buttons(ctx, result.star)
