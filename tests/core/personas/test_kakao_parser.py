"""The KakaoTalk export parser on every shape and encoding, on damaged and hostile files."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path

import pytest

from core.personas.kakao import KakaoParseError, KakaoReader, inspect_export, parse_export
from core.personas.kakao.grammar import kind_of
from tests.support.kakao import ALL_SHAPES, SystemEvent, msg, render_lines, write_export

MOM = "엄마 (김영희)"
ODD = "[민수], 아들: 2"

CORPUS = [
    msg(datetime(2023, 1, 5, 0, 30), MOM, "아들 밥 먹었어?"),  # 오전 12:30 is 00:30
    msg(datetime(2023, 1, 5, 0, 31), ODD, "응 먹었어 ㅋㅋ"),
    SystemEvent(time=datetime(2023, 1, 5, 9, 0), text="이도현님이 들어왔습니다."),
    msg(datetime(2023, 1, 5, 12, 5), MOM, "점심은?\n\n반찬 보냈어\n꼭 챙겨 먹어"),  # 오후 12:05 is noon
    msg(datetime(2023, 1, 5, 12, 6), ODD, "회의 3:30에 끝나 : 장소: 카페 [오후 3:04] 2023. 1. 5."),
    msg(datetime(2023, 1, 5, 23, 59), MOM, "사진"),
    SystemEvent(time=datetime(2023, 1, 6, 8, 0), text="이도현님이 나갔습니다."),
    msg(datetime(2023, 1, 6, 8, 1), MOM, "사진 3장"),
    msg(datetime(2023, 1, 6, 8, 2), MOM, "이모티콘"),
    msg(datetime(2023, 1, 6, 8, 3), ODD, "파일: 보고서 최종.pdf"),
    msg(datetime(2023, 1, 6, 8, 4), MOM, "삭제된 메시지입니다."),
    msg(datetime(2023, 2, 28, 18, 0), MOM, "조심히 들어가"),
]


def expected(items: list[object]) -> list[tuple[datetime, str, str, str]]:
    return [(m.time, m.author, kind_of(m.text), m.text) for m in items if not isinstance(m, SystemEvent)]


def as_tuples(export_messages: tuple[object, ...]) -> list[tuple[datetime, str, str, str]]:
    return [(m.time, m.author, m.kind, m.text) for m in export_messages]


VARIANTS = {
    "utf8": {"encoding": "utf-8"},
    "utf8-bom-crlf": {"encoding": "utf-8", "bom": True, "crlf": True},
    "crlf": {"encoding": "utf-8", "crlf": True},
    "cp949": {"encoding": "cp949"},
    "euc-kr-crlf": {"encoding": "euc-kr", "crlf": True},
}
ENCODING_NAME = {
    "utf8": "utf-8",
    "utf8-bom-crlf": "utf-8-sig",
    "crlf": "utf-8",
    "cp949": "cp949",
    "euc-kr-crlf": "cp949",
}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("shape", ALL_SHAPES)
def test_every_shape_and_encoding(tmp_path: Path, shape: str, variant: str) -> None:
    path = write_export(tmp_path / "chat.txt", shape, CORPUS, **VARIANTS[variant])  # type: ignore[arg-type]
    export = parse_export(path)
    assert export.shape == shape
    assert export.encoding == ENCODING_NAME[variant]
    assert as_tuples(export.messages) == expected(CORPUS)
    assert export.skipped_lines == 0
    if shape != "macos_csv":
        assert export.title == "고민수"
        assert export.saved_at is not None
        assert export.saved_at.date() == datetime(2024, 1, 6).date()


def test_kinds_and_counts_exclude_system_lines(tmp_path: Path) -> None:
    export = parse_export(write_export(tmp_path / "c.txt", "android_ko", CORPUS))
    kinds = [m.kind for m in export.messages]
    assert kinds.count("media") == 4
    assert kinds.count("deleted") == 1
    assert export.participants() == {MOM: 7, ODD: 3}
    assert all("들어왔습니다" not in m.text and "나갔습니다" not in m.text for m in export.messages)


@pytest.mark.parametrize("shape", ["pc_windows_en", "android_en", "ios_en"])
def test_english_placeholders_and_system_lines(tmp_path: Path, shape: str) -> None:
    items = [
        msg(datetime(2023, 5, 1, 12, 0), "Kim, Jr.", "Photo"),
        SystemEvent(time=datetime(2023, 5, 1, 12, 1), text="Lee joined this chatroom."),
        msg(datetime(2023, 5, 1, 12, 2), "Kim, Jr.", "Emoticon"),
        msg(datetime(2023, 5, 1, 12, 3), "Lee", "This message was deleted."),
        SystemEvent(time=datetime(2023, 5, 1, 12, 4), text="Lee left this chatroom."),
        msg(datetime(2023, 5, 1, 0, 5), "Lee", "File: notes.txt"),
        msg(datetime(2023, 6, 2, 12, 5), "Lee", "see you at 3:04 PM, ok : fine"),
    ]
    export = parse_export(write_export(tmp_path / "c.txt", shape, items, encoding="utf-8"))
    assert export.shape == shape
    assert [m.kind for m in export.messages] == ["media", "media", "deleted", "media", "text"]
    assert export.messages[3].time == datetime(2023, 5, 1, 0, 5)
    assert export.participants() == {"Lee": 3, "Kim, Jr.": 2}


def test_inspect_json_contract(tmp_path: Path) -> None:
    path = write_export(tmp_path / "c.txt", "ios_ko", CORPUS, bom=True, crlf=True)
    summary = inspect_export(path)
    assert list(summary) == ["shape", "encoding", "participants", "messages", "first", "last"]
    assert summary["participants"] == {MOM: 7, ODD: 3}
    assert summary["messages"] == 10
    assert summary["first"] == "2023-01-05T00:30:00"
    assert summary["last"] == "2023-02-28T18:00:00"
    full = inspect_export(path, with_messages=True)
    assert full["message_list"][2] == {
        "time": "2023-01-05T12:05:00",
        "author": MOM,
        "kind": "text",
        "text": "점심은?\n\n반찬 보냈어\n꼭 챙겨 먹어",
    }
    json.dumps(full, ensure_ascii=False)  # serialisable as is
    assert inspect_export(path, extras=True)["skipped_lines"] == 0


def test_bytes_input_and_streaming_reader(tmp_path: Path) -> None:
    data = "\n".join(render_lines("pc_windows_ko", CORPUS)).encode("cp949")
    assert as_tuples(parse_export(data).messages) == expected(CORPUS)
    reader = KakaoReader(data)
    assert reader.encoding == "cp949"
    assert sum(1 for _ in reader.messages()) == 10


def test_csv_quotes_and_multiline(tmp_path: Path) -> None:
    items = [
        msg(datetime(2023, 1, 5, 15, 4, 26), 'Kim "Big" Lee', 'she said "hi",\nthen left\n"quoted line"'),
        msg(datetime(2023, 1, 5, 15, 4, 27), "a,b", "2023-01-05 15:04:26,not a record"),
    ]
    export = parse_export(write_export(tmp_path / "c.csv", "macos_csv", items))
    assert as_tuples(export.messages) == expected(items)


# --- damaged and hostile files ----------------------------------------------------------------------


def test_zero_byte_file(tmp_path: Path) -> None:
    (tmp_path / "e.txt").write_bytes(b"")
    with pytest.raises(KakaoParseError) as err:
        parse_export(tmp_path / "e.txt")
    assert err.value.key == "kakao.error.empty_file"


def test_binary_file(tmp_path: Path) -> None:
    (tmp_path / "b.bin").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 50)
    with pytest.raises(KakaoParseError) as err:
        parse_export(tmp_path / "b.bin")
    assert err.value.key == "kakao.error.binary"
    assert err.value.line == 1


def test_random_bytes_without_nul(tmp_path: Path) -> None:
    data = bytes(b for b in os.urandom(20000) if b)
    with pytest.raises(KakaoParseError) as err:
        parse_export(data)
    assert err.value.key in {"kakao.error.unknown_format", "kakao.error.damaged"}
    assert err.value.line is not None


def test_header_only_file(tmp_path: Path) -> None:
    lines = list(render_lines("pc_windows_ko", []))
    with pytest.raises(KakaoParseError) as err:
        parse_export("\n".join(lines).encode())
    assert err.value.key == "kakao.error.no_messages"


def test_unknown_text_names_the_line() -> None:
    with pytest.raises(KakaoParseError) as err:
        parse_export(b"\n\nhello there\nthis is just a note\n")
    assert err.value.key == "kakao.error.unknown_format"
    assert err.value.line == 3
    assert "3" in err.value.user_message("ko")
    assert "line 3" in err.value.user_message("en")


def test_invalid_dates_are_skipped_and_counted() -> None:
    lines = list(render_lines("android_ko", CORPUS[:2]))
    lines.insert(6, "2023년 2월 30일 오후 3:04, 엄마 : 없는 날짜")
    lines.insert(7, "이 줄도 함께 건너뜀")
    lines.append("2023년 13월 1일 오후 25:04, 엄마 : 없는 시간")
    export = parse_export("\n".join(lines).encode())
    assert as_tuples(export.messages) == expected(CORPUS[:2])
    assert export.skipped_lines == 3


def test_invalid_day_separator_on_pc() -> None:
    lines = list(render_lines("pc_windows_ko", CORPUS[:2]))
    lines += ["--------------- 2023년 2월 31일 금요일 ---------------", "[엄마] [오후 3:04] 안 읽힘"]
    export = parse_export("\n".join(lines).encode())
    assert len(export.messages) == 2
    assert export.skipped_lines == 2


def test_partly_damaged_bytes_are_skipped() -> None:
    good = "\n".join(render_lines("ios_ko", CORPUS)).encode()
    broken = good.replace("응 먹었어".encode(), b"\xff\xfe\xfd")
    export = parse_export(broken)
    assert len(export.messages) == 9
    assert export.skipped_lines == 1
    assert export.encoding in {"utf-8", "cp949"}


def test_all_lines_damaged_names_first_line() -> None:
    lines = [
        "고민수 님과 카카오톡 대화",
        "저장한 날짜 : 2023-01-06 09:12:40",
        "",
        "[엄마] [오후 3:04] 날짜 없음",
    ]
    with pytest.raises(KakaoParseError) as err:
        parse_export("\n".join(lines).encode())
    assert err.value.key == "kakao.error.damaged"
    assert err.value.line == 4


@pytest.mark.parametrize(
    "hostile",
    [
        "[" * 100_000,
        "[a] " * 25_000,
        "2023년 1월 5일 오후 3:04, " + "이" * 100_000,
        "2023. 1. 5. 오후 3:04, " + "a " * 50_000 + ".",
        "x" * 99_999 + ".",
        "님이 " * 30_000 + "들어왔습니다.",
    ],
)
@pytest.mark.parametrize("shape", ["pc_windows_ko", "android_ko", "ios_ko"])
def test_long_lines_are_linear(shape: str, hostile: str) -> None:
    lines = list(render_lines(shape, CORPUS[:2]))
    data = "\n".join([*lines, hostile, hostile, *lines[-1:]]).encode()
    started = time.process_time()
    export = parse_export(data)
    assert time.process_time() - started < 1.0
    assert len(export.messages) >= 2


def test_huge_single_message_line() -> None:
    text = "가나다 " * 25_000
    data = "\n".join(render_lines("pc_windows_en", [msg(datetime(2023, 1, 5, 1, 0), "a", text)])).encode()
    assert parse_export(data).messages[0].text == text


def test_error_messages_exist_in_both_locales() -> None:
    for key in ("empty_file", "binary", "unknown_format", "no_messages", "damaged"):
        error = KakaoParseError(f"kakao.error.{key}", line=7)
        assert error.user_message("ko") != error.user_message("en")
        assert not error.user_message("en").startswith("kakao.")


@pytest.mark.parametrize("shape", ["android_ko", "android_en", "ios_ko", "ios_en"])
def test_the_fast_message_path_reads_what_the_general_path_reads(
    shape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.personas.kakao import grammar

    lines = list(render_lines(shape, CORPUS))
    lines.insert(7, lines[6].replace(" 5", " 32", 1))  # an impossible day
    lines.insert(8, "이 줄은 앞 메시지의 둘째 줄")
    lines.append(lines[-1].replace("6:00", "25:00").replace("18:00", "25:00"))
    lines.append(lines[-1])  # the same impossible clock again (the fast path caches clocks by their text)
    lines.append(lines[-3])  # and a good line of that day after it
    clean = "\n".join(lines).encode()
    damaged = clean.replace("응 먹었어".encode(), b"\xff\xfe\xfd")

    def read(data: bytes) -> tuple[list[tuple[datetime, str, str, str]], int, int | None]:
        reader = KakaoReader(data)
        records = list(reader.records())
        return records, reader.skipped_lines, reader.first_skipped_line

    fast = [read(clean), read(damaged)]
    never = grammar.re.compile(r"(?!)")
    for name in ("ANDROID_KO_MESSAGE", "IOS_KO_MESSAGE", "EN_MESSAGE"):
        monkeypatch.setattr(grammar, name, never)
    general = [read(clean), read(damaged)]
    assert fast == general
    assert len(fast[0][0]) == 11 and fast[0][1] == 4, fast[0]  # the day's line, its continuation, hour 25 x2
