"""Command handlers shared by every adapter: /start, /help, /about, /new, /stars, /profile, /reset, data
rights."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from core.command_table import CommandSpec, Feature, Section, UserEraser
from core.context import Context, FlowState
from core.domain.actions import (
    Action,
    AskChoice,
    Choice,
    DeleteProgress,
    SendFile,
    SendText,
    SendVoice,
    ShowProgress,
)
from core.domain.events import CommandInvoked
from core.domain.identity import Locale
from core.domain.stars import Star, StarStatus
from core.flows.answers import said_yes
from core.flows.base import Flow, flow_choice
from core.flows.create_star import CreateStarFlow
from core.flows.voice_setup import VoiceSetupFlow
from core.personas.chat import ChatService
from core.personas.stars import StarService
from core.personas.style import describe
from core.ports import EngineUnavailable, UserStore
from core.privacy.rights import DataRightsService
from core.safety.disclosure import DataDisclosure
from core.voice.listen import VoiceService
from core.voice.profiles import VoiceProfileService

_PREVIEW = 40
_QUOTE = 120


class Commands:
    """The core command set (stars, voice, data rights, settings); :meth:`feature` declares it."""

    def __init__(
        self,
        *,
        users: UserStore,
        chat: ChatService,
        star_service: StarService,
        rights: DataRightsService,
        create_flow: CreateStarFlow,
        engine_note: tuple[str, str],
        disclosure: DataDisclosure | None = None,
        voice: VoiceService | None = None,
        voice_setup: VoiceSetupFlow | None = None,
        voice_profiles: VoiceProfileService | None = None,
        erasers: Sequence[UserEraser] = (),
    ) -> None:
        self.voice = voice
        # Other features' data a user owns (meetings, enrolled voices), deleted by /forget_me before the user
        # row goes: every eraser the features declare (the router's), handed over by the composition root.
        self.erasers = tuple(erasers)
        self.voice_setup = voice_setup
        self.voice_profiles = voice_profiles
        self.users = users
        self.chat = chat
        self.star_service = star_service
        self.rights = rights
        self.create_flow = create_flow
        self.engine_note = engine_note  # (engine name, model or "")
        self.disclosure = disclosure or DataDisclosure()

    def feature(self) -> Feature:
        """The commands, choice prefixes and flows of the core set."""
        flows: list[Flow] = [self.create_flow, ConfirmFlow(self)]
        if self.voice_setup is not None:
            flows.append(self.voice_setup)

        return Feature(
            commands=(
                CommandSpec(name="start", handler=self.start, section=Section.START),
                CommandSpec(name="new", handler=self.new, section=Section.START, discord=("star create",)),
                CommandSpec(name="stars", handler=self.stars, section=Section.START, discord=("star list",)),
                CommandSpec(name="profile", handler=self.profile, section=Section.STARS),
                CommandSpec(name="reset", handler=self.reset, section=Section.STARS),
                CommandSpec(
                    name="voice", handler=self.voice_command, section=Section.VOICE, discord=("voice setup",)
                ),
                CommandSpec(name="listen", handler=self.listen, section=Section.VOICE),
                CommandSpec(name="export", handler=self.export, section=Section.DATA),
                CommandSpec(name="retire", handler=self.retire, section=Section.DATA),
                CommandSpec(name="forget", handler=self.forget, section=Section.DATA),
                CommandSpec(name="forget_me", handler=self.forget_me, section=Section.DATA),
                CommandSpec(
                    name="language", handler=self.language, section=Section.SETTINGS, keeps_flow=True
                ),
                CommandSpec(name="about", handler=self.about, section=Section.SETTINGS, keeps_flow=True),
            ),
            choices={"star": self.choose_star, "lang": self.choose_language, "listen": self.listen_to},
            flows=tuple(flows),
        )

    async def _active_star(self, ctx: Context) -> Star | None:
        star_id = await self.users.active_star_id(ctx.user.id)
        return await self.chat.stars.get_owned(star_id, ctx.user.id) if star_id else None

    async def start(self, ctx: Context) -> AsyncIterator[Action]:
        """Welcome, disclosure and the menu."""
        name = ctx.user.given_name
        yield SendText(text=ctx.tr("start.welcome", name=name) if name else ctx.tr("start.welcome_unnamed"))

    async def about(self, ctx: Context) -> AsyncIterator[Action]:
        """What VOS is and which engine answers (honest disclosure)."""
        name, model = self.engine_note
        star = await self._active_star(ctx)
        who = star.name if star else ctx.tr("about.the_star")
        note = ctx.tr(f"chat.engine.{name}", star=who, model=model)
        yield SendText(text=ctx.tr("about.text", engine=name, engine_note=note))
        yield SendText(text=self.disclosure.text(ctx.locale))

    async def language(self, ctx: Context) -> AsyncIterator[Action]:
        """``/language ko|en`` switches at once; without an argument, offer Korean or English."""
        wanted = ctx.event.args.strip().lower() if isinstance(ctx.event, CommandInvoked) else ""
        if wanted in {"ko", "en"}:
            async for action in self.choose_language(ctx, wanted):
                yield action
            return
        yield AskChoice(
            prompt=ctx.tr("common.language_prompt"),
            options=(Choice(key="lang:ko", label="한국어"), Choice(key="lang:en", label="English")),
        )

    async def choose_language(self, ctx: Context, value: str) -> AsyncIterator[Action]:
        """Switch the user's language."""
        if value not in {"ko", "en"}:
            return
        locale = Locale(value)
        await self.users.set_locale(ctx.user.id, locale)
        yield SendText(text=Context(user=ctx.user, locale=locale, event=ctx.event).tr("common.language_set"))

    async def new(self, ctx: Context) -> AsyncIterator[Action]:
        """Start the create-a-star flow."""
        async for action in ctx.start_flow(CreateStarFlow.kind):
            yield action

    async def stars(self, ctx: Context) -> AsyncIterator[Action]:
        """The chat list: each star with its last message."""
        stars = await self.chat.stars.list_owned(ctx.user.id)
        if not stars:
            yield SendText(text=ctx.tr("common.no_star"))
            return
        last = await self.chat.chats.last_turns(ctx.user.id, [s.id for s in stars])
        options = []
        for star in stars:
            turn = last.get(star.id)
            preview = turn.text.replace("\n", " ")[:_PREVIEW] if turn else ctx.tr("stars.no_messages")
            label = ctx.tr("stars.entry", name=star.name, relation=star.relation or "-", last=preview)
            if star.status is StarStatus.RETIRED:
                label += ctx.tr("stars.retired_mark")
            options.append(Choice(key=f"star:{star.id}", label=label))
        yield AskChoice(prompt=ctx.tr("stars.header"), options=tuple(options))

    async def choose_star(self, ctx: Context, star_id: str) -> AsyncIterator[Action]:
        """Make a star the active one (only the user's own)."""
        star = await self.chat.stars.get_owned(star_id, ctx.user.id)
        if star is None:
            yield SendText(text=ctx.tr("stars.not_found"))
            return
        await self.users.set_active_star(ctx.user.id, star.id)
        yield SendText(text=ctx.tr("stars.switched", name=star.name))

    async def listen(self, ctx: Context) -> AsyncIterator[Action]:
        """Speak the active star's latest message."""
        star = await self._active_star(ctx)
        turn = await self.chat.chats.last_star_turn(ctx.user.id, star.id) if star else None
        if star is None or turn is None:
            yield SendText(text=ctx.tr("voice.listen.nothing"))
            return
        async for a in self._speak(ctx, star, turn.text):
            yield a

    async def listen_to(self, ctx: Context, turn_id: str) -> AsyncIterator[Action]:
        """The 🔊 button (``listen:<turn_id>``): speak a bubble the star sent to this user, read from
        storage (never text the client sent), so the button works in any process and after a restart."""
        turn = await self.chat.chats.star_turn(ctx.user.id, turn_id)
        star = await self.chat.stars.get_owned(turn.star_id, ctx.user.id) if turn else None
        if turn is None or star is None:
            yield SendText(text=ctx.tr("voice.listen.nothing"))
            return
        async for a in self._speak(ctx, star, turn.text):
            yield a

    async def voice_command(self, ctx: Context) -> AsyncIterator[Action]:
        """/voice: keep the active star's voice from a recording (or add one to the kept voice)."""
        star = await self._active_star(ctx)
        if star is None:
            yield SendText(text=ctx.tr("common.choose_star_first"))
            return
        if star.status is StarStatus.RETIRED:
            yield SendText(text=ctx.tr("stars.retired_readonly", name=star.name))
            return
        if self.voice_setup is None:
            yield SendText(
                text=ctx.tr("common.not_available", feature=ctx.tr("voiceflow.feature"), extra="voice")
            )
            return
        data: dict[str, object] = {"star_id": star.id, "star_name": star.name}
        async for action in ctx.start_flow(VoiceSetupFlow.kind, data):
            yield action

    async def _speak(self, ctx: Context, star: Star, text: str) -> AsyncIterator[Action]:
        if self.voice is None:
            yield SendText(text=ctx.tr("common.not_available", feature="voice", extra="voice"))
            return
        progress = f"listen-{ctx.user.id[:8]}"
        yield ShowProgress(progress_id=progress, text=ctx.tr("voice.listen.working"))
        try:
            spoken = await self.voice.speak(star, text, ctx.locale)
        except EngineUnavailable as exc:
            yield DeleteProgress(progress_id=progress)
            yield SendText(
                text=ctx.tr("common.not_available", feature=str(exc)[:120], extra=exc.extra or "-")
            )
            return
        yield DeleteProgress(progress_id=progress)
        if spoken.path is None:
            yield SendText(text=spoken.caption)
            return
        yield SendVoice(path=spoken.path, caption=spoken.caption, duration_s=spoken.duration_s)

    async def profile(self, ctx: Context) -> AsyncIterator[Action]:
        """The active star's style profile in plain words."""
        star = await self._active_star(ctx)
        if star is None:
            yield SendText(text=ctx.tr("common.choose_star_first"))
            return
        yield SendText(text=star_card(ctx, star))
        prof = await self.star_service.profile(star.id)
        if prof is not None:
            yield SendText(text=describe(prof, ctx.locale))

    async def reset(self, ctx: Context) -> AsyncIterator[Action]:
        """Forget the conversation context, keep the star."""
        star = await self._active_star(ctx)
        if star is None:
            yield SendText(text=ctx.tr("common.choose_star_first"))
            return
        await self.chat.chats.reset_context(ctx.user.id, star.id)
        yield SendText(text=ctx.tr("chat.reset_done", star=star.name))

    async def export(self, ctx: Context) -> AsyncIterator[Action]:
        """A zip of the active star's data."""
        star = await self._active_star(ctx)
        if star is None:
            yield SendText(text=ctx.tr("common.choose_star_first"))
            return
        path = await self.rights.export_star(ctx.user.id, star)
        yield SendFile(
            path=path,
            filename=f"vos-{star.name}.zip",
            caption=ctx.tr("rights.export_ready", name=star.name),
            temporary=True,  # deleted once delivered (outbox: after the TTL, or by /forget(_me))
        )

    async def _confirm(
        self, ctx: Context, action: str, prompt: str, star: Star | None
    ) -> AsyncIterator[Action]:
        data = {"action": action, "star_id": star.id if star else None, "prompt": prompt}
        async for a in ctx.start_flow(ConfirmFlow.kind, data):
            yield a

    async def forget(self, ctx: Context) -> AsyncIterator[Action]:
        """Ask, then delete the active star and everything derived from it; ``/forget ID``: delete that one
        message or memory of the user's, and say what it was."""
        ref = ctx.event.args.strip() if isinstance(ctx.event, CommandInvoked) else ""
        if ref:
            async for a in self._forget_item(ctx, ref):
                yield a
            return
        star = await self._active_star(ctx)
        if star is None:
            yield SendText(text=ctx.tr("common.choose_star_first"))
            return
        owned = await self.chat.stars.list_owned(ctx.user.id)
        twin = any(s.id != star.id and s.name == star.name for s in owned)  # the demo 엄마 beside one's own
        label = f"{star.name} ({star.relation})" if twin and star.relation else star.name
        async for a in self._confirm(ctx, "forget", ctx.tr("rights.forget_confirm", name=label), star):
            yield a

    async def _forget_item(self, ctx: Context, ref: str) -> AsyncIterator[Action]:
        item = await self.rights.forget_item(ctx.user.id, ref)
        if item is None:
            yield SendText(text=ctx.tr("rights.forget_item_unknown", id=ref[:40]))
            return
        star = await self.chat.stars.get_owned(item.star_id, ctx.user.id)
        name = star.name if star else ctx.tr("about.the_star")
        text = item.text if len(item.text) <= _QUOTE else item.text[: _QUOTE - 1] + "…"
        key = "rights.forget_turn_done" if item.kind == "turn" else "rights.forget_memory_done"
        yield SendText(text=ctx.tr(key, id=ref.strip().lower(), star=name, text=text))
        if item.memories:
            yield SendText(text=ctx.tr("rights.forget_turn_memory", star=name))

    async def retire(self, ctx: Context) -> AsyncIterator[Action]:
        """Ask, then say goodbye to the active star."""
        star = await self._active_star(ctx)
        if star is None:
            yield SendText(text=ctx.tr("common.choose_star_first"))
            return
        async for a in self._confirm(ctx, "retire", ctx.tr("rights.retire_confirm", name=star.name), star):
            yield a

    async def forget_me(self, ctx: Context) -> AsyncIterator[Action]:
        """Ask, then delete all of the user's data."""
        async for a in self._confirm(ctx, "forget_me", ctx.tr("rights.forget_me_confirm"), None):
            yield a

    def _forget_audio(self, star_id: str) -> None:
        if self.voice is not None:
            self.voice.forget(star_id)
        if self.voice_setup is not None:
            self.voice_setup.forget(star_id)

    async def forget_user(self, user_id: str) -> None:
        """Everything ``/forget_me`` deletes (also ``vos admin user ID --delete``): caches, rows, blobs."""
        for owned in await self.chat.stars.list_owned(user_id):
            self.chat.offline.forget(owned.id)
            self._forget_audio(owned.id)
        for erase in self.erasers:
            await erase(user_id)
        await self.rights.forget_user(user_id)

    async def confirmed(self, ctx: Context, action: str, star_id: str | None) -> AsyncIterator[Action]:
        """Carry out a confirmed destructive action."""
        star = await self.chat.stars.get_owned(star_id, ctx.user.id) if star_id else None
        if action == "forget_me":
            await self.forget_user(ctx.user.id)
            yield SendText(text=ctx.tr("rights.forget_me_done"))
        elif star is None:
            yield SendText(text=ctx.tr("stars.not_found"))
        elif action == "forget":
            self.chat.offline.forget(star.id)
            self._forget_audio(star.id)
            await self.rights.forget_star(ctx.user.id, star.id)
            yield SendText(text=ctx.tr("rights.forget_done", name=star.name))
        elif action == "retire":
            lines = await self.rights.retire(ctx.user.id, star)
            yield SendText(text=ctx.tr("rights.retire_farewell_intro", name=star.name))
            for line in lines:
                yield SendText(text=line, from_star=True)
            yield SendText(text=ctx.tr("rights.retire_done", name=star.name))


def star_card(ctx: Context, star: Star) -> str:
    """What the user told VOS about the star: relation, dates, notes, and the names in use."""
    lines = [ctx.tr("profile.heading", name=star.name, relation=star.relation or "-")]
    if star.birth_date:
        lines.append(ctx.tr("profile.born", date=star.birth_date.isoformat()))
    if star.death_date:
        lines.append(ctx.tr("profile.died", date=star.death_date.isoformat()))
    if star.notes:
        lines.append(ctx.tr("profile.notes", notes=star.notes))
    if star.user_address:
        lines.append(ctx.tr("profile.address", address=star.user_address))
    if star.user_name:
        lines.append(ctx.tr("profile.user_name", user_name=star.user_name))
    lines.append(ctx.tr("profile.edit"))
    return "\n".join(lines)


class ConfirmFlow:
    """Yes/no before anything destructive."""

    kind = "confirm"

    def __init__(self, commands: Commands) -> None:
        self.commands = commands

    async def start(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        """Ask the question stored in the flow data."""
        state.goto("ask")
        yield AskChoice(
            prompt=str(state.data["prompt"]),
            options=(flow_choice("yes", ctx.tr("common.yes")), flow_choice("no", ctx.tr("common.no"))),
        )

    async def on_event(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        """Yes carries the action out; anything else aborts."""
        state.finish()
        if said_yes(ctx.event):
            async for a in self.commands.confirmed(ctx, str(state.data["action"]), state.data.get("star_id")):  # type: ignore[arg-type]
                yield a
        else:
            yield SendText(text=ctx.tr("rights.aborted"))
