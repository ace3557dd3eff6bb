"""Property: any conversation written in any shape parses back to the same messages."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.personas.kakao import parse_export
from core.personas.kakao.grammar import kind_of
from tests.support.kakao import ALL_SHAPES, msg, render_lines

_NAME = st.text(alphabet="가나다 민수abZ[](),:'", min_size=1, max_size=12).filter(
    lambda n: n == n.strip() and " :" not in n
)
_TEXT = st.text(alphabet="가나다 밥ab:[],~!?ㅋㅠ\n", max_size=40).map(
    str.rstrip
)  # trailing blank lines are layout


@st.composite
def conversations(draw: st.DrawFn) -> list:
    names = draw(st.lists(_NAME, min_size=1, max_size=3, unique=True))
    t = datetime(2022, 12, 31, 23, 58)
    items = []
    for _ in range(draw(st.integers(1, 8))):
        t += timedelta(minutes=draw(st.sampled_from([0, 1, 13, 60 * 11, 60 * 24 * 3])))
        items.append(msg(t, draw(st.sampled_from(names)), draw(_TEXT)))
    return items


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=conversations(), shape=st.sampled_from(ALL_SHAPES), crlf=st.booleans())
def test_round_trip(items: list, shape: str, crlf: bool) -> None:
    data = ("\r\n" if crlf else "\n").join(render_lines(shape, items)).encode()
    export = parse_export(data)
    got = [(m.time, m.author, m.kind, m.text) for m in export.messages]
    assert got == [(m.time, m.author, kind_of(m.text), m.text) for m in items]
    assert export.skipped_lines == 0
