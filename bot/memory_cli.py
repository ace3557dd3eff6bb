"""``vos memory``: search a star's memory the way the chat does, and (re)build its index."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from bot.cli_common import JsonOpt, UserOpt
from bot.settings import Settings

memory_app = typer.Typer(no_args_is_help=True, help="A star's memory: search it, (re)build its index.")


async def _star(app: Any, user_id: str, star_ref: str) -> tuple[Any, Any] | str:
    from bot.runner import find_star, local_user

    user = await local_user(app, user_id)
    star = await find_star(app, user, star_ref)
    return star if isinstance(star, str) else (user, star)


async def memory_search(
    settings: Settings, user_id: str, star_ref: str, query: str, limit: int
) -> dict[str, Any]:
    """The same search as a chat turn: the export's moments and this user's conversation memory."""
    from bot.wiring import running_app
    from core.privacy.rights import memory_ref

    async with running_app(settings, use_settings_model=False) as app:
        found = await _star(app, user_id, star_ref)
        if isinstance(found, str):
            return {"error": found}
        user, star = found
        memories = await app.memory.search(star.id, query, user_id=user.id, limit=limit)
        return {
            "memories": [
                {
                    "id": memory_ref(m.moment_id) if m.source == "conversation" else "",
                    "text": m.text,
                    "time": m.time.isoformat(),
                    "source": m.source,
                    "score": m.score,
                }
                for m in memories
            ]
        }


async def memory_index(settings: Settings, user_id: str, star_ref: str) -> dict[str, Any]:
    """Cut and embed what the star's memory lacks (stars imported before it, a changed embedder)."""
    from bot.wiring import running_app

    async with running_app(settings, use_settings_model=False) as app:
        found = await _star(app, user_id, star_ref)
        if isinstance(found, str):
            return {"error": found}

        def show(fraction: float, text: str) -> None:
            typer.echo(f"{fraction:6.1%}  {text}", err=True)

        report = await app.star_service.index_memory_report(found[1].id, show)
        return {"moments": report.moments, "embedded": report.embedded, "seconds": round(report.seconds, 1)}


Limit = Annotated[int, typer.Option("--limit", min=1, max=50, help="How many memories.")]


def _finish(result: dict[str, Any], json_out: bool) -> None:
    if json_out or "error" in result:
        typer.echo(json.dumps(result, ensure_ascii=False), err="error" in result and not json_out)
    if "error" in result:
        raise typer.Exit(1)


@memory_app.command("search")
def search(
    star: Annotated[str, typer.Argument(help="The star's id or name.")],
    query: Annotated[str, typer.Argument(help="What to remember, in any words.")],
    user: UserOpt = "local",
    limit: Limit = 5,
    json_out: JsonOpt = False,
) -> None:
    """Print the star's memories most like QUERY, best first (what the chat would recall)."""
    from bot.cli_common import run_async, settings_or_exit, setup_logging

    settings = settings_or_exit()
    setup_logging(settings)
    result = run_async(lambda: memory_search(settings, user, star, query, limit))
    _finish(result, json_out)
    if not json_out:
        for m in result["memories"]:
            ref = f", /forget {m['id']}" if m["id"] else ""
            typer.echo(f"[{m['time'][:16]}] ({m['source']}, {m['score']:.2f}{ref})\n{m['text']}\n")


@memory_app.command("index")
def index(
    star: Annotated[str, typer.Argument(help="The star's id or name.")],
    user: UserOpt = "local",
    json_out: JsonOpt = False,
) -> None:
    """Build the moments and vectors the star's memory lacks, with progress."""
    from bot.cli_common import run_async, settings_or_exit, setup_logging

    settings = settings_or_exit()
    setup_logging(settings)
    result = run_async(lambda: memory_index(settings, user, star))
    _finish(result, json_out)
    if not json_out:
        typer.echo(f"{result['moments']} moments cut, {result['embedded']} embedded in {result['seconds']} s")
