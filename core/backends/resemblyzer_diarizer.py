"""Offline speaker separation: Silero VAD → resemblyzer window embeddings → agglomerative clustering.

resemblyzer ships its own weights (a 3-layer LSTM d-vector model) and runs on torch CPU, so this backend
works with no model hub. The model loads once, lazily, and ``close()`` frees it. Labels are ``S1``, ``S2``...
in order of first appearance.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from core.backends.silero_vad import VAD_SAMPLE_RATE, SileroVad, SileroVadOptions
from core.domain.audio import Diarization, SpeakerTurn
from core.extras import install_hint
from core.ports import Audio, EngineUnavailable, ProgressCallback

_FRAME_S = 0.01  # resemblyzer's mel hop
_PARTIAL_FRAMES = 160  # resemblyzer's window: 1.6 s of mel frames
_TARGET_DBFS = -30.0  # the level resemblyzer's training data was normalised to


@dataclass(frozen=True, slots=True, kw_only=True)
class ResemblyzerOptions:
    """Tuning of the offline diarizer; the defaults suit phone and room recordings at 16 kHz."""

    device: str = "cpu"
    threads: int = 1
    hop_s: float = 0.4
    max_speakers: int = 8
    split_similarity: float = 0.8
    min_cluster: int = 4
    min_turn_s: float = 0.4
    batch_size: int = 64
    vad: SileroVadOptions = field(default_factory=SileroVadOptions)


def _resample_to_16k(audio: Audio, sample_rate: int) -> Audio:
    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    if sample_rate == VAD_SAMPLE_RATE:
        return x
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(sample_rate, VAD_SAMPLE_RATE)
    return np.asarray(resample_poly(x, VAD_SAMPLE_RATE // g, sample_rate // g), dtype=np.float32)


def _normalise(x: Audio) -> Audio:
    rms = float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0
    if rms < 1e-6:
        return x
    return (x * (10 ** (_TARGET_DBFS / 20) / rms)).astype(np.float32)


class _Model:
    """The resemblyzer VoiceEncoder, loaded on first use and shared by the diarizer and the encoder."""

    def __init__(self, device: str, threads: int) -> None:
        self._device, self._threads = device, threads
        self._encoder: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        with self._lock:
            if self._encoder is None:
                try:
                    import torch

                    with warnings.catch_warnings():
                        # resemblyzer imports a deprecated scipy namespace
                        warnings.simplefilter("ignore", DeprecationWarning)
                        from resemblyzer import VoiceEncoder
                except ImportError as exc:
                    raise EngineUnavailable(
                        f"speaker separation needs resemblyzer and torch: {install_hint('voice')}",
                        extra="voice",
                    ) from exc
                if self._threads:
                    torch.set_num_threads(self._threads)
                self._encoder = VoiceEncoder(self._device, verbose=False)
            return self._encoder

    def mel(self, x: Audio) -> npt.NDArray[np.float32]:
        self.get()
        from resemblyzer.audio import wav_to_mel_spectrogram

        return wav_to_mel_spectrogram(x)  # type: ignore[no-any-return]

    def embed_mels(self, mels: npt.NDArray[np.float32], batch: int) -> npt.NDArray[np.float32]:
        import torch

        enc = self.get()
        out = []
        with torch.no_grad():
            for i in range(0, len(mels), batch):
                out.append(enc(torch.from_numpy(mels[i : i + batch]).to(enc.device)).cpu().numpy())
        return np.concatenate(out).astype(np.float32)

    def close(self) -> None:
        with self._lock:
            self._encoder = None


class ResemblyzerSpeakerEncoder:
    """``SpeakerEncoder``: an L2-normalised 256-d resemblyzer embedding of one utterance."""

    name = "resemblyzer"

    def __init__(self, options: ResemblyzerOptions | None = None, *, model: _Model | None = None) -> None:
        self.options = options or ResemblyzerOptions()
        self._model = model or _Model(self.options.device, self.options.threads)

    def embed(self, audio: Audio, *, sample_rate: int = 16000) -> npt.NDArray[np.float32]:
        """Embed ``audio``: windows of 1.6 s over the (silence-trimmed, level-normalised) speech, averaged."""
        x = _resample_to_16k(audio, sample_rate)
        regions = SileroVad(self.options.vad).regions(x)
        speech = np.concatenate([x[s:e] for s, e in regions]) if regions else x
        windows = _windows(self._model.mel(_normalise(speech)), int(self.options.hop_s / _FRAME_S))
        mean = self._model.embed_mels(np.stack([w for _, w in windows]), self.options.batch_size).mean(axis=0)
        return np.asarray(mean / (np.linalg.norm(mean) or 1.0), dtype=np.float32)

    def close(self) -> None:
        """Free the model; the next call loads it again."""
        self._model.close()


def _windows(mel: npt.NDArray[np.float32], hop: int) -> list[tuple[int, npt.NDArray[np.float32]]]:
    """Sliding 1.6 s mel windows as ``(first frame, window)``; a short region is zero-padded to one."""
    n = mel.shape[0]
    if n <= _PARTIAL_FRAMES:
        return [(0, np.pad(mel, ((0, _PARTIAL_FRAMES - n), (0, 0))))]
    starts = list(range(0, n - _PARTIAL_FRAMES + 1, hop))
    if starts[-1] + _PARTIAL_FRAMES < n:
        starts.append(n - _PARTIAL_FRAMES)
    return [(s, mel[s : s + _PARTIAL_FRAMES]) for s in starts]


async def _report(progress: ProgressCallback | None, fraction: float, word: str) -> None:
    if progress is not None:
        result = progress(fraction, word)
        if inspect.isawaitable(result):
            await result


class ResemblyzerDiarizer:
    """``Diarizer`` that runs offline on CPU; ``num_speakers`` overrides the estimated count."""

    name = "resemblyzer"

    def __init__(self, options: ResemblyzerOptions | None = None) -> None:
        self.options = options or ResemblyzerOptions()
        self._model = _Model(self.options.device, self.options.threads)
        self.encoder = ResemblyzerSpeakerEncoder(self.options, model=self._model)
        self._vad = SileroVad(self.options.vad)

    async def diarize(
        self,
        audio: Audio,
        *,
        sample_rate: int = 16000,
        num_speakers: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> Diarization:
        """Split ``audio`` into speaker turns (blocking work runs in a thread)."""
        x = await asyncio.to_thread(_resample_to_16k, audio, sample_rate)
        await _report(progress, 0.0, "vad")
        regions = await asyncio.to_thread(self._vad.regions, x)
        await _report(progress, 0.2, "embed")
        centres, embeds = await asyncio.to_thread(self._embed_regions, x, regions)
        await _report(progress, 0.8, "cluster")
        result = await asyncio.to_thread(self._assign, regions, centres, embeds, num_speakers)
        await _report(progress, 1.0, "done")
        return result

    def diarize_sync(
        self, audio: Audio, *, sample_rate: int = 16000, num_speakers: int | None = None
    ) -> Diarization:
        """The same as ``diarize`` for callers already off the event loop (jobs, benchmarks)."""
        x = _resample_to_16k(audio, sample_rate)
        regions = self._vad.regions(x)
        centres, embeds = self._embed_regions(x, regions)
        return self._assign(regions, centres, embeds, num_speakers)

    def close(self) -> None:
        """Free the model; the next call loads it again."""
        self._model.close()

    def _embed_regions(
        self, x: Audio, regions: list[tuple[int, int]]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float32]]:
        """One embedding per sliding window; ``centres`` are window centres in samples, inside the region."""
        hop = max(1, int(self.options.hop_s / _FRAME_S))
        centres: list[float] = []
        mels: list[npt.NDArray[np.float32]] = []
        for start, end in regions:
            mel = self._model.mel(_normalise(x[start:end]))
            for first, window in _windows(mel, hop):
                centre = start + (first + _PARTIAL_FRAMES / 2) * _FRAME_S * VAD_SAMPLE_RATE
                centres.append(min(centre, (start + end) / 2) if mel.shape[0] <= _PARTIAL_FRAMES else centre)
                mels.append(window)
        if not mels:
            return np.zeros(0), np.zeros((0, 256), dtype=np.float32)
        return np.asarray(centres), self._model.embed_mels(np.stack(mels), self.options.batch_size)

    def _assign(
        self,
        regions: list[tuple[int, int]],
        centres: npt.NDArray[np.float64],
        embeds: npt.NDArray[np.float32],
        num_speakers: int | None,
    ) -> Diarization:
        if embeds.shape[0] == 0:
            return Diarization(turns=(), engine=self.name)
        labels = cluster_embeddings(
            embeds,
            num_speakers=num_speakers,
            max_speakers=self.options.max_speakers,
            split_similarity=self.options.split_similarity,
            min_cluster=self.options.min_cluster,
        )
        turns, order = windows_to_turns(regions, centres, labels, self.options.min_turn_s)
        embeddings: dict[str, tuple[float, ...]] = {}
        for raw, label in order.items():
            mean = embeds[labels == raw].mean(axis=0)
            embeddings[label] = tuple(float(v) for v in mean / (np.linalg.norm(mean) or 1.0))
        return Diarization(
            turns=tuple(SpeakerTurn(start=s, end=e, speaker=lab) for s, e, lab in turns),
            embeddings=embeddings,
            engine=self.name,
        )


_MAX_CLUSTERED = 1500  # agglomerative clustering is O(n^2) in memory: cluster a sample, assign the rest


def cluster_embeddings(
    embeds: npt.NDArray[np.float32],
    *,
    num_speakers: int | None,
    max_speakers: int = 8,
    split_similarity: float = 0.8,
    min_cluster: int = 4,
) -> npt.NDArray[np.int64]:
    """Cluster L2-normalised window embeddings with Ward linkage.

    With ``num_speakers`` the tree is cut into that many clusters. Otherwise the tree is walked from the
    root and a cluster is split only while its two halves sound like different people: their mean
    embeddings are less cosine-similar than ``split_similarity`` and each half has ``min_cluster`` windows.
    (Silhouette scores mislead here: overlapping windows form tight micro-clusters even for one voice.)
    """
    from scipy.cluster.hierarchy import fcluster, linkage, to_tree

    n = embeds.shape[0]
    if n < 2 or num_speakers == 1:
        return np.zeros(n, dtype=np.int64)
    idx = np.unique(np.linspace(0, n - 1, min(n, _MAX_CLUSTERED)).round().astype(int))
    sample = embeds[idx].astype(np.float64)
    tree = linkage(sample, method="ward")
    if num_speakers is not None:
        labels = (
            np.asarray(fcluster(tree, t=min(num_speakers, len(idx)), criterion="maxclust"), dtype=np.int64)
            - 1
        )
    else:
        clusters = _split_by_similarity(to_tree(tree), sample, max_speakers, split_similarity, min_cluster)
        labels = np.full(len(idx), -1, dtype=np.int64)
        for c, members in enumerate(clusters):
            labels[members] = c
    if len(idx) == n and labels.min() >= 0:
        return labels
    centroids = np.stack([sample[labels == c].mean(axis=0) for c in range(int(labels.max()) + 1)])
    return np.asarray(np.argmax(embeds @ centroids.T.astype(np.float32), axis=1), dtype=np.int64)


def _split_by_similarity(
    root: Any, sample: npt.NDArray[np.float64], max_clusters: int, split_similarity: float, min_cluster: int
) -> list[list[int]]:
    """Clusters of the dendrogram, widest merge first, split only where the halves differ.

    A half smaller than ``min_cluster`` (a cough, a laugh) does not stop the walk: it is set aside and the
    larger half is examined instead; set-aside windows are left out here and joined to the nearest cluster.
    """

    def centroid(node: Any) -> npt.NDArray[np.float64]:
        mean = sample[node.pre_order()].mean(axis=0)
        return mean / (np.linalg.norm(mean) or 1.0)  # type: ignore[no-any-return]

    def core_of(node: Any) -> Any:
        while not node.is_leaf():
            left, right = node.get_left(), node.get_right()
            if min(left.get_count(), right.get_count()) >= min_cluster:
                break
            node = left if left.get_count() >= right.get_count() else right
        return node

    done: list[Any] = []
    frontier = [core_of(root)]
    while frontier:
        frontier.sort(key=lambda node: node.dist)
        node = frontier.pop()
        if (
            node.is_leaf()
            or len(done) + len(frontier) + 2 > max_clusters
            or float(centroid(node.get_left()) @ centroid(node.get_right())) >= split_similarity
        ):
            done.append(node)
            continue
        frontier.extend([core_of(node.get_left()), core_of(node.get_right())])
    return [node.pre_order() for node in done]


def _smooth(labels: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Undo single-window flips: a window whose two neighbours agree takes their label."""
    out = labels.copy()
    for i in range(1, len(labels) - 1):
        if labels[i - 1] == labels[i + 1] != labels[i]:
            out[i] = labels[i - 1]
    return out


def windows_to_turns(
    regions: list[tuple[int, int]],
    centres: npt.NDArray[np.float64],
    labels: npt.NDArray[np.int64],
    min_turn_s: float,
) -> tuple[list[tuple[float, float, str]], dict[int, str]]:
    """Cut each speech region between window centres, merge runs, absorb turns shorter than ``min_turn_s``.

    Returns turns as ``(start s, end s, label)`` and the map from cluster id to label (``S1``... by first
    appearance).
    """
    sr = VAD_SAMPLE_RATE
    pieces: list[list[Any]] = []  # [start, end, cluster]
    for start, end in regions:
        inside = np.flatnonzero((centres >= start) & (centres <= end))
        if inside.size == 0:
            continue
        labs = _smooth(labels[inside])
        cuts = [start, *((centres[inside][:-1] + centres[inside][1:]) / 2), end]
        region: list[list[Any]] = []
        for i, lab in enumerate(labs):
            if region and region[-1][2] == lab:
                region[-1][1] = cuts[i + 1]
            else:
                region.append([cuts[i], cuts[i + 1], int(lab)])
        # A short run inside a region is more likely a noisy window than a real interjection.
        while len(region) > 1:
            shortest = min(range(len(region)), key=lambda j: region[j][1] - region[j][0])
            if region[shortest][1] - region[shortest][0] >= min_turn_s * sr:
                break
            j = shortest
            neighbour = (
                j - 1
                if j == len(region) - 1
                or (j > 0 and region[j - 1][1] - region[j - 1][0] >= region[j + 1][1] - region[j + 1][0])
                else j + 1
            )
            lo, hi = min(j, neighbour), max(j, neighbour)
            keep = region[neighbour][2]
            region[lo : hi + 1] = [[region[lo][0], region[hi][1], keep]]
            merged: list[list[Any]] = []
            for piece in region:
                if merged and merged[-1][2] == piece[2]:
                    merged[-1][1] = piece[1]
                else:
                    merged.append(piece)
            region = merged
        pieces.extend(region)
    order: dict[int, str] = {}
    for piece in pieces:
        order.setdefault(piece[2], f"S{len(order) + 1}")
    turns = [(round(s / sr, 3), round(e / sr, 3), order[c]) for s, e, c in pieces]
    return turns, order
