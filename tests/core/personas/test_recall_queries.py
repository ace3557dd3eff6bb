"""Memory search queries rewritten by a chat model (the local OpenAI-compatible test server)."""

from __future__ import annotations

from pathlib import Path

from core.backends.openai_chat import OpenAIChat, OpenAIChatOptions
from core.personas.recall_queries import MemoryQueryRewriter, parse_queries, search_rewritten
from core.storage.db import Database
from core.storage.memory import MemoryStore
from tests.core.storage.test_memory_search import _indexed_star
from tests.support.openai_server import OpenAIServer, Reply, Status


def _model(server: OpenAIServer) -> OpenAIChat:
    return OpenAIChat(
        OpenAIChatOptions(base_url=server.base_url, api_key="sk-test", model="m", timeout_s=2, max_retries=0)
    )


def test_queries_are_read_one_per_line_without_bullets_or_repeats() -> None:
    answer = '- 강아지 수술\n2. "동물병원 마취"\n\n강아지 수술\n초코 기억나?\n중성화\n넷째'
    assert parse_queries(answer, "초코 기억나?") == ["강아지 수술", "동물병원 마취", "중성화"]


async def test_a_rewritten_query_finds_a_memory_the_question_misses(db: Database) -> None:
    memory = MemoryStore(db)  # lexical only: the question shares no morpheme with the memory
    lines = [("민지", "초코 중성화 수술 잘 끝났대"), ("엄마", "아이고 다행이다 마취 깼어?")]
    lines += [("민지", "오늘 야근이야"), ("엄마", "밥 챙겨 먹어")] * 3
    star_id = await _indexed_star(db, memory, "r", lines)
    question = await memory.prepare("우리 멍멍이 아팠던 날")
    assert not await memory.search(star_id, question, user_id="nobody")
    with OpenAIServer() as server:
        model = _model(server)
        server.push(Reply(text="강아지 중성화\n동물병원 마취"))
        rewritten = await MemoryQueryRewriter(model).queries(question.text)
        assert rewritten == ["강아지 중성화", "동물병원 마취"]
        request = server.requests[-1].messages
        assert "우리 멍멍이 아팠던 날" in request[-1]["content"] and "data" in request[0]["content"]
        found = await search_rewritten(memory, star_id, question, rewritten, user_id="nobody", limit=3)
        assert {m.text for m in found} >= {
            "민지: 초코 중성화 수술 잘 끝났대",
            "엄마: 아이고 다행이다 마취 깼어?",
        }
        server.push(Status(500))  # a failing model leaves the message as it is
        assert await MemoryQueryRewriter(model).queries(question.text) == []
        await model.aclose()


def test_the_app_rewrites_memory_queries_only_when_asked_and_a_model_is_configured(tmp_path: Path) -> None:
    from bot.wiring import build_app
    from tests.support.app import make_settings

    model = OpenAIChat(OpenAIChatOptions(base_url="http://127.0.0.1:9/v1", model="m", timeout_s=1.0))
    asked = make_settings(tmp_path / "a", llm={"rewrite_memory_queries": True})
    assert isinstance(build_app(asked, chat_model=model).chat.rewriter, MemoryQueryRewriter)
    assert build_app(make_settings(tmp_path / "b"), chat_model=model).chat.rewriter is None
    assert build_app(asked, use_settings_model=False).chat.rewriter is None  # the offline engine: no model
