"""The console behaves like a terminal program: Ctrl-C exits at once, input never blocks the event loop,
file commands check their path, scripts are not rate-limited, /language and /help do what they say, and
bytes that are not UTF-8 (in a script or an argument) are one clear line."""

from __future__ import annotations

import asyncio
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.console.reader import LineReader, UnreadableInput
from bot.cli import app
from core.domain.identity import Locale
from core.i18n import t
from tests.support.extras import need

ROOT = Path(__file__).resolve().parents[3]
EN = Locale.EN


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOS_DATA_DIR", str(tmp_path / "data"))
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("VOS_TEST_")},
        "VOS_DATA_DIR": str(tmp_path / "data"),
        "VOS_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


def script(tmp_path: Path, *lines: str, raw: bytes = b"") -> list[str]:
    """``vos console --script FILE --locale en``: exit code first, then the non-empty output lines."""
    path = tmp_path / "script.txt"
    path.write_bytes("\n".join(lines).encode() + b"\n" + raw)
    result = CliRunner().invoke(app, ["console", "--script", str(path), "--locale", "en"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return [str(result.exit_code), *(line for line in result.output.splitlines() if line.strip())]


def _read_until(fd: int, marker: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        assert left > 0, seen.decode(errors="replace")
        if select.select([fd], [], [], left)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            seen += chunk
    return seen


def console_on_pty(locale: str, env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen[bytes], int]:
    """`vos console` on a pseudo-terminal, as a user runs it: the process and the terminal's leader end."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "console", "--locale", locale],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    os.close(follower)
    return proc, leader


def test_ctrl_c_at_the_prompt_exits_at_once_with_a_line(env: dict[str, str], tmp_path: Path) -> None:
    proc, leader = console_on_pty("en", env, tmp_path)
    try:
        _read_until(leader, b"you> ", 120)  # the prompt: the console waits for a line
        started = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)  # what Ctrl-C sends; nobody presses Enter
        code = proc.wait(timeout=20)
        elapsed = time.monotonic() - started
        rest = _read_until(leader, b"(Ctrl-C)", 5).decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)
    assert code == 130 and elapsed < 10
    assert [line.strip() for line in rest.splitlines() if line.strip()] == ["vos: stopped (Ctrl-C)"]


async def test_waiting_for_input_never_blocks_the_event_loop() -> None:
    """`vos run` in console mode with piped stdin: jobs, GC and retention keep running while it waits."""
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as source, os.fdopen(write_end, "wb") as feed:
        reader = LineReader(source)
        waiting = asyncio.ensure_future(reader.readline())
        ticks = 0
        for _ in range(20):  # 0.2 s of other work while nothing arrives on stdin
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 20 and not waiting.done()
        feed.write(b"hello\n")
        feed.flush()
        assert await asyncio.wait_for(waiting, 5) == "hello\n"
        feed.write(b"\xff\n")
        feed.flush()
        with pytest.raises(UnreadableInput, match="line 2 is not UTF-8"):
            await asyncio.wait_for(reader.readline(), 5)


def test_a_mistyped_file_path_is_a_clear_line_not_a_chat_message(tmp_path: Path, env: dict[str, str]) -> None:
    missing = tmp_path / "no-such-recording.m4a"
    out = script(tmp_path, f"/voice {missing}", f"/file {missing}")
    line = "VOS> " + t(EN, "lines.console.no_file", path=missing)
    assert out == ["0", f"you> /voice {missing}", line, f"you> /file {missing}", line]


def test_a_script_is_not_rate_limited(tmp_path: Path, env: dict[str, str]) -> None:
    out = script(tmp_path, *["/language en"] * 25)  # more than the per-minute limit and its burst
    assert out[0] == "0"
    assert out.count("VOS> " + t(EN, "common.language_set")) == 25


def test_language_honours_its_argument(tmp_path: Path, env: dict[str, str]) -> None:
    out = script(tmp_path, "/language ko")
    assert out == ["0", "you> /language ko", "VOS> " + t(Locale.KO, "common.language_set")]


def test_help_lists_every_command_the_router_knows(tmp_path: Path, env: dict[str, str]) -> None:
    from bot.settings import load_settings
    from bot.wiring import build_app

    router = build_app(load_settings()).engine.router
    out = "\n".join(script(tmp_path, "/help"))
    commands = [name for name in router.commands if not name.startswith("_")]
    assert {"meeting", "meetings", "ask", "memories", "voicereply"} <= set(commands)
    for name in [*commands, "cancel"]:
        assert f"\n     /{name} " in out or out.endswith(f"/{name}"), name


def test_invalid_utf8_in_a_script_is_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    out = script(tmp_path, "/language en", raw=b"caf\xe9\n")
    assert out[0] == "1"
    assert (
        out[-1]
        == f"vos: {tmp_path / 'script.txt'}: line 2 is not UTF-8 text (byte 3); save it as UTF-8 and try again"
    )
    assert "Traceback" not in "\n".join(out)


def test_invalid_utf8_in_an_argument_is_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "엄마", os.fsdecode(b"caf\xe9")],
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    lines = [line for line in (result.stdout + result.stderr).decode().splitlines() if line.strip()]
    assert (result.returncode, lines) == (1, ["vos: argument 3 is not UTF-8 text; retype it"])


@pytest.mark.ml
async def test_vos_run_with_idle_piped_stdin_still_runs_recovered_jobs(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """#23: the console waiting on a pipe must not starve the jobs `vos run` recovers at start (a meeting
    import: seconds of work that go on while the console waits; on the loop, the wait stopped them)."""
    need("faster_whisper")
    from bot.runner import local_user
    from bot.wiring import running_app
    from core.domain.meetings import MeetingScope
    from core.jobs.ports import JobStatus
    from core.meetings.jobs import MEETING_IMPORT, import_payload
    from tests.bot.test_cli_failed_jobs import tone
    from tests.support.app import make_settings

    settings = make_settings(tmp_path)
    job_id = "e" * 32
    async with running_app(settings, use_settings_model=False) as vos:  # an import a crash left queued
        user = await local_user(vos, "local")
        meeting = await vos.meetings.create_import(MeetingScope.of_user(user.id), tone(tmp_path / "m.wav"))
        payload = import_payload(meeting, locale=Locale.EN, speakers=1)
        await vos.job_repo.create(job_id, kind=MEETING_IMPORT, owner_id=user.id, chat_id="", payload=payload)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=tmp_path,
        stdin=asyncio.subprocess.PIPE,  # open, and nothing ever typed
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        status = None
        async with running_app(settings, use_settings_model=False, migrate=False) as vos:
            for _ in range(480):
                job = await vos.job_repo.get(job_id)
                status = job.status if job else None
                if status is JobStatus.DONE:
                    break
                await asyncio.sleep(0.5)
        assert status is JobStatus.DONE and proc.returncode is None  # done while the console still waits
        assert proc.stdin is not None
        proc.stdin.close()  # end of input: the console, and `vos run`, end
        await asyncio.wait_for(proc.wait(), 60)
        assert proc.returncode == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
