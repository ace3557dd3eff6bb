"""The bundled demo star: a short, invented KakaoTalk conversation between a mother and her daughter."""

from __future__ import annotations

from pathlib import Path

DEMO_EXPORT = Path(__file__).resolve().parent / "mom_kakao_ko.txt"
DEMO_PARTICIPANT = "엄마"
DEMO_NAME = "엄마"
DEMO_RELATION = "어머니 (데모)"
DEMO_NOTES = "데모용으로 만든 가상의 인물입니다. 다정하고 걱정이 많으며 물결(~~)과 ㅎㅎ를 자주 씁니다."
DEMO_CONSENT = "demo: bundled fictional conversation written by the VOS project"
