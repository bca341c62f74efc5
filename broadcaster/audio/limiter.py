"""Gain and a true-peak lookahead limiter, on int16 speech, chunk by chunk.

Why not an ffmpeg filter: ffmpeg's ``alimiter`` sees only sample peaks, and
oversampling the whole stream for it costs more than everything else in the
pipeline. Here the peaks are found on 2x-oversampled audio (the output rate
for espeak's 22.05 kHz) and the gain curve is computed with two array filters:

* a running minimum of the gain each sample needs, over ±``window`` samples,
  so the gain is already down when a peak arrives (lookahead) and stays down
  around it (hold);
* a moving average over a shorter span, which smooths the curve. Every value
  averaged is the minimum over a span that contains the current sample, so the
  smoothed gain never exceeds what that sample needs: no overs, by construction.

Chunks overlap by more than the filters reach, so chunk edges are invisible,
and memory stays flat however long the bulletin is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import resample_poly

CHUNK = 1 << 18  # about 12 s at 22.05 kHz
FULL_SCALE = 32768.0


@dataclass(frozen=True)
class Limited:
    samples: np.ndarray  # int16
    true_peak: float  # linear, of the oversampled result (1.0 = full scale)
    energy_ratio: float  # output energy / input energy after gain: what limiting cost


def peak_envelope(samples: np.ndarray) -> np.ndarray:
    """Each sample's peak magnitude on 2x-oversampled audio (full scale 1.0), as float16.

    It does not depend on the gain (it scales with it), so :func:`limit` can be
    tried at several gains for the price of one oversampling. Half precision is
    plenty: its 0.05 % error is far inside the margin kept under the ceiling.
    """
    envelope = np.empty(len(samples), dtype=np.float16)
    for start in range(0, len(samples), CHUNK):
        stop = min(len(samples), start + CHUNK)
        lo, hi = max(0, start - 64), min(len(samples), stop + 64)  # the resampler's reach
        x = samples[lo:hi].astype(np.float32) / np.float32(FULL_SCALE)
        up = np.abs(resample_poly(x, 2, 1).astype(np.float32))
        both = np.maximum(up[0::2], up[1::2])[: len(x)]
        envelope[start:stop] = both[start - lo : start - lo + (stop - start)]
    return envelope


def limit(
    samples: np.ndarray,
    rate: int,
    *,
    gain_db: float,
    ceiling: float,
    envelope: np.ndarray | None = None,
    lookahead_ms: float = 4.0,
    smooth_ms: float = 3.0,
) -> Limited:
    """Apply ``gain_db`` and keep the oversampled peaks at or under ``ceiling`` (linear).

    ``envelope`` is :func:`peak_envelope` of ``samples``, when already computed.
    """
    if envelope is None:
        envelope = peak_envelope(samples)
    gain = 10 ** (gain_db / 20)
    window = max(1, int(rate * lookahead_ms / 1000))
    half_smooth = max(1, int(rate * smooth_ms / 2000))
    pad = window + half_smooth + 1  # beyond the filters' reach
    out = np.empty(len(samples), dtype="<i2")
    energy_in = energy_out = 0.0
    peak = 0.0
    for start in range(0, len(samples), CHUNK):
        stop = min(len(samples), start + CHUNK)
        lo, hi = max(0, start - pad), min(len(samples), stop + pad)
        x = samples[lo:hi].astype(np.float32) * np.float32(gain / FULL_SCALE)
        peaks = envelope[lo:hi].astype(np.float32) * np.float32(gain)
        needed = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-9)).astype(np.float32)
        held = minimum_filter1d(needed, size=2 * window + 1, mode="nearest")
        curve = uniform_filter1d(held, size=2 * half_smooth + 1, mode="nearest")
        curve = np.minimum(curve, needed)  # float rounding must not undo the guarantee
        inner = slice(start - lo, start - lo + (stop - start))
        y = x[inner] * curve[inner]
        energy_in += float(np.dot(x[inner], x[inner]))
        energy_out += float(np.dot(y, y))
        peak = max(peak, float(np.max(peaks[inner] * curve[inner], initial=0.0)))
        out[start:stop] = np.round(y * (FULL_SCALE - 1)).astype("<i2")
    ratio = energy_out / energy_in if energy_in > 0 else 1.0
    return Limited(out, peak, ratio)
