"""``vos admin``: operators' totals, jobs, a user's data and the blob store."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from bot.cli_common import JsonOpt, fail, run_async, settings_or_exit, setup_logging

admin_app = typer.Typer(no_args_is_help=True, help="Operators: totals, jobs, a user's data, blobs.")
admin_jobs_app = typer.Typer(invoke_without_command=True, help="List jobs; retry or cancel one.")
admin_blobs_app = typer.Typer(no_args_is_help=True, help="The blob store: collect orphaned blobs.")
admin_app.add_typer(admin_jobs_app, name="jobs")
admin_app.add_typer(admin_blobs_app, name="blobs")


@admin_app.command("stats")
def admin_stats(json_out: JsonOpt = False) -> None:
    """Users, stars, meetings, jobs by status, and the queue depth (Redis; 0 for the local runner)."""
    from bot.admin import cli_stats, format_stats

    settings = settings_or_exit()
    data = run_async(lambda: cli_stats(settings))
    typer.echo(json.dumps(data, ensure_ascii=False) if json_out else format_stats(data))


@admin_app.command("safety")
def admin_safety(json_out: JsonOpt = False) -> None:
    """Crisis referrals counted for operators (totals, last 30 and 7 days; no content, no users)."""
    from bot.admin import cli_safety

    counts = run_async(lambda: cli_safety(settings_or_exit()))
    if json_out:
        typer.echo(json.dumps(counts))
        return
    typer.echo(
        f"crisis referrals: {counts['crisis_referrals_total']} in total, "
        f"{counts['crisis_referrals_30d']} in the last 30 days, "
        f"{counts['crisis_referrals_7d']} in the last 7 days"
    )


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
        raise fail(f"--status: {exc}") from None
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
        raise fail(f"job {job_id}: {change['reason']}", 1)
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
        raise fail(f"no user {user_ref!r}", 1)
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
        raise fail("blob gc is running on another instance right now; try again later", 1)
    typer.echo(json.dumps(data, ensure_ascii=False) if json_out else format_blob_gc(data))
