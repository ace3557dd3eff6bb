"""Whisper's log-Mel features for a long recording, computed a block of frames at a time.

faster-whisper's ``FeatureExtractor`` takes the STFT of the whole recording at once: a windowed frame
matrix, its complex spectrum and the squared magnitudes live together, about 50 bytes per sample (1.5 GB
for 30 minutes of 16 kHz audio, the peak of a meeting import). Each frame's spectrum depends only on its own
``n_fft`` samples, so the power spectrum is filled a block of frames at a time with the same code, then
goes through the same Mel product and normalisation: the same features, bit for bit, in about a fifth of
the memory. This module imports faster-whisper: import it only where the engine is installed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from faster_whisper.feature_extractor import FeatureExtractor

BLOCK_FRAMES = 6000
"""Frames (10 ms each) per block; a recording of at most this many frames takes the original path."""


class BlockFeatureExtractor(FeatureExtractor):  # type: ignore[misc]
    """``FeatureExtractor`` that computes the spectrum of a long waveform in blocks of frames."""

    def __call__(
        self, waveform: npt.NDArray[Any], padding: int = 160, chunk_length: int | None = None
    ) -> npt.NDArray[np.float32]:
        """The log-Mel spectrogram of ``waveform``, equal to ``FeatureExtractor.__call__``'s."""
        n_fft, hop = self.n_fft, self.hop_length
        frames = (waveform.size + padding) // hop  # the frames the original keeps (it drops the last)
        if frames <= BLOCK_FRAMES:
            return super().__call__(waveform, padding=padding, chunk_length=chunk_length)  # type: ignore[no-any-return]
        if chunk_length is not None:
            self.n_samples = chunk_length * self.sampling_rate
            self.nb_max_frames = self.n_samples // hop
        samples = np.asarray(waveform, dtype=np.float32)
        if padding:
            samples = np.pad(samples, (0, padding))
        # The centre padding the original's ``stft(center=True)`` applies; blocks then run uncentred.
        padded = np.pad(samples, (n_fft // 2, n_fft // 2), mode="reflect")
        del samples
        window = np.hanning(n_fft + 1)[:-1].astype("float32")
        # The squared magnitudes in the original's layout (frequency-major view of a frame-major array):
        # the one matrix product below then takes the same BLAS path as the original's, so the sums match
        # exactly (a product per block would not: BLAS splits the work by shape).
        power = np.empty((frames, n_fft // 2 + 1), dtype=np.float32)
        for start in range(0, frames, BLOCK_FRAMES):
            end = min(frames, start + BLOCK_FRAMES)
            stft = self.stft(
                padded[start * hop : (end - 1) * hop + n_fft],
                n_fft,
                hop,
                window=window,
                center=False,
                return_complex=True,
            ).astype("complex64")
            power[start:end] = (np.abs(stft) ** 2).T
        del padded
        mel = np.asarray(self.mel_filters @ power.T, dtype=np.float32)
        del power
        np.clip(mel, 1e-10, None, out=mel)
        np.log10(mel, out=mel)
        np.maximum(mel, mel.max() - 8.0, out=mel)
        mel += 4.0
        mel /= 4.0
        return mel


def block_features(extractor: Any) -> Any:
    """``extractor`` as a :class:`BlockFeatureExtractor` with the same settings; anything but faster-whisper's
    own ``FeatureExtractor`` (a future version's, a subclass) is returned unchanged."""
    if type(extractor) is not FeatureExtractor:
        return extractor
    block = BlockFeatureExtractor.__new__(BlockFeatureExtractor)
    block.__dict__.update(extractor.__dict__)
    return block
