"""The demo fleet's load and latency model: deterministic, seeded, no clock of its own.

Traffic follows a daily curve (peak at 14:00 UTC, mean equal to the baseline
throughput) times a small per-minute noise. Latency is log-normal with its 95th
percentile at the baseline p95, and the histogram has a bucket bound exactly there, so
`histogram_quantile(0.95, …)` over the page lands on the baseline figure.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

Z95 = 1.6448536269514722  # standard normal 95th percentile
LATENCY_SIGMA = 0.45  # log-normal shape: p99/p50 of about 2.8, typical of a web service
BUCKET_FACTORS = (0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0)
PEAK_HOUR_UTC = 14.0


def unit_noise(seed: int, stream: str, index: int) -> float:
    """A reproducible number in [-1, 1) for (seed, stream, index): same inputs, same value."""
    digest = hashlib.blake2b(f"{seed}:{stream}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**63 - 1.0


def daily_factor(t: float, amplitude: float) -> float:
    """Load relative to the daily mean at Unix time `t`: 1 ± amplitude, peak at 14:00 UTC."""
    hour = (t % 86400) / 3600
    return 1.0 + amplitude * math.cos(2 * math.pi * (hour - PEAK_HOUR_UTC) / 24)


def _round_sig(x: float, digits: int = 3) -> float:
    return float(f"{x:.{digits}g}")


def bucket_bounds(p95_s: float) -> tuple[float, ...]:
    """Histogram bounds (seconds) around the p95 objective, one of them exactly at it."""
    return tuple(sorted({_round_sig(p95_s * f) for f in BUCKET_FACTORS}))


@dataclass(frozen=True)
class LatencyModel:
    """Log-normal latency whose 95th percentile is `p95_s` seconds (times `scale`)."""

    p95_s: float
    sigma: float = LATENCY_SIGMA

    @property
    def median_s(self) -> float:
        return self.p95_s / math.exp(Z95 * self.sigma)

    def mean_s(self, scale: float = 1.0) -> float:
        return scale * self.median_s * math.exp(self.sigma**2 / 2)

    def cdf(self, bounds: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """Share of requests at or under each bound when every latency is `scale` times longer."""
        z = (np.log(bounds) - math.log(self.median_s * scale)) / (self.sigma * math.sqrt(2))
        return np.array([0.5 * (1 + math.erf(v)) for v in z])

    def quantile(self, q: float, scale: float = 1.0) -> float:
        """Exact quantile of the model (for tests and docs)."""
        from statistics import NormalDist

        return scale * self.median_s * math.exp(self.sigma * NormalDist().inv_cdf(q))


@dataclass(frozen=True)
class LoadModel:
    """Requests per second of one service at a time, deterministic for a seed."""

    throughput_rps: float
    seed: int
    stream: str
    amplitude: float = 0.2
    noise: float = 0.02

    def rate(self, t: float) -> float:
        minute = int(t // 60)
        jitter = 1.0 + self.noise * unit_noise(self.seed, self.stream, minute)
        return self.throughput_rps * daily_factor(t, self.amplitude) * jitter

    def expected_requests(self, start: float, end: float) -> float:
        """Requests the model serves in [start, end), integrated minute by minute."""
        total, t = 0.0, start
        while t < end:
            seg_end = min(end, (t // 60 + 1) * 60)
            total += self.rate((t + seg_end) / 2) * (seg_end - t)
            t = seg_end
        return total
