"""``vos admin``: operator commands on a running deployment's database (and Redis, when the queue is there).

Each function opens the app (migrating the database as the bot does), calls :class:`core.admin.AdminService`
and returns plain JSON-ready data; ``bot/cli.py`` prints it as text or ``--json``.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.settings import Settings
from bot.wiring import running_app


def _plain(obj: Any) -> Any:
    """A dataclass (or list of them) as JSON-ready data: datetimes as ISO strings, tuples as lists."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list | tuple):
        return [_plain(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, datetime):
        return obj.isoformat()
    return obj


async def cli_stats(settings: Settings) -> dict[str, Any]:
    """Totals: users, stars, meetings, jobs by status, queue depth."""
    async with running_app(settings, use_settings_model=False) as app:
        result: dict[str, Any] = _plain(await app.admin.stats())
        return result


async def cli_safety(settings: Settings) -> dict[str, int]:
    """Crisis referrals (hand-offs with help lines) counted for operators: totals only, no content."""
    async with running_app(settings, use_settings_model=False) as app:
        events = app.chat.safety_events
        now = datetime.now(UTC)
        return {
            "crisis_referrals_total": await events.referral_counts(),
            "crisis_referrals_30d": await events.referral_counts(now - timedelta(days=30)),
            "crisis_referrals_7d": await events.referral_counts(now - timedelta(days=7)),
        }


async def cli_jobs(settings: Settings, status: str | None, limit: int) -> list[dict[str, Any]]:
    """Jobs, newest first (``ValueError`` for an unknown status)."""
    async with running_app(settings, use_settings_model=False) as app:
        result: list[dict[str, Any]] = _plain(await app.admin.jobs(status=status, limit=limit))
        return result


async def cli_job_change(settings: Settings, action: str, job_id: str) -> dict[str, Any]:
    """Retry or cancel one job."""
    async with running_app(settings, use_settings_model=False) as app:
        change = await (app.admin.retry_job(job_id) if action == "retry" else app.admin.cancel_job(job_id))
        result: dict[str, Any] = _plain(change)
        return result


async def cli_user(settings: Settings, ref: str, *, delete: bool) -> dict[str, Any] | None:
    """What a user has; with ``delete``, delete it all (the ``/forget_me`` path) and report what was there."""
    async with running_app(settings, use_settings_model=False) as app:
        holdings = await (app.admin.delete_user(ref) if delete else app.admin.user(ref))
        if holdings is None:
            return None
        result: dict[str, Any] = _plain(holdings)
        result["deleted"] = delete
        return result


async def cli_blobs_gc(settings: Settings, *, dry_run: bool) -> dict[str, Any] | None:
    """Collect orphaned blobs now (under the scheduled job's lock); None when a replica is running it."""
    from bot.jobs import run_blob_gc

    async with running_app(settings, use_settings_model=False) as app:
        result = await run_blob_gc(app, dry_run=dry_run)
        if result is None:
            return None
        data: dict[str, Any] = _plain(result)
        data["grace_hours"] = settings.blobs.gc_grace_hours
        return data


def format_blob_gc(data: dict[str, Any]) -> str:
    """The collection's counts as a few lines."""
    verb = "would delete" if data["dry_run"] else "deleted"
    return "\n".join(
        [
            f"scanned:         {data['scanned']}",
            f"{verb + ':':<16} {data['deleted']} ({data['bytes_freed']} bytes)",
            f"kept, in use:    {data['kept_referenced']}",
            f"kept, too young: {data['kept_young']} (grace {data['grace_hours']:g} h)",
        ]
    )


def format_stats(data: dict[str, Any]) -> str:
    """The stats as a few aligned lines."""

    def by(status_counts: dict[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in status_counts.items()) or "-"

    return "\n".join(
        [
            f"users:       {data['users']}",
            f"stars:       {data['stars']} ({by(data['stars_by_status'])})",
            f"meetings:    {data['meetings']} ({by(data['meetings_by_status'])})",
            f"jobs:        {by(data['jobs_by_status'])}",
            f"queue depth: {data['queue_depth']}",
        ]
    )


def format_job(job: dict[str, Any]) -> str:
    """One job as one line."""
    error = f"  ({job['error'][:80]})" if job["error"] else ""
    return (
        f"{job['id']}  {job['created_at'][:16]}  {job['status']:<9}  {job['kind']:<14}  "
        f"{job['progress']:4.0%}  x{job['attempts']}  owner {job['owner_id']}{error}"
    )


def format_user(data: dict[str, Any]) -> str:
    """A user's holdings as text."""
    lines = [
        f"user {data['user_id']} ({data['platform']}:{data['platform_user_id']}, {data['display_name']!r})",
        f"  since:          {data['created_at'][:16]}",
        f"  stars:          {len(data['stars'])}",
        *[f"    {sid}  {name}  [{status}]" for sid, name, status in data["stars"]],
        f"  chat turns:     {data['chat_turns']}",
        f"  meetings:       {data['meetings']}",
        f"  voice memories: {data['voice_memories']}",
        f"  jobs:           {data['jobs']}",
        f"  blobs:          {data['blobs']} ({data['blob_bytes']} bytes)",
    ]
    if data["deleted"]:
        lines.append("deleted: every row and blob above")
    return "\n".join(lines)
