"""Benchmarks on the generated city (``geo.demo.generate("city")``), not tests.

Each benchmark is a module of this package with a ``main(argv)`` returning an exit
code, run as ``python -m bench NAME [options]``; each prints our figure beside a
baseline measured in the same run. Cached inputs live under ``var/bench/``.
"""

import time
from pathlib import Path

import numpy as np
import shapely

__all__ = ["ROOT", "VAR", "best_of", "generate_city", "pack_wkb", "unpack_wkb"]

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"


def generate_city(seed, path):
    """Generate the city once (about 40 s), saying where it will be cached."""
    from geo.demo import generate

    started = time.perf_counter()
    print(f"generating the city (seed {seed}) once, cached in {path} …", flush=True)
    demo = generate("city", seed=seed)
    print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
    VAR.mkdir(parents=True, exist_ok=True)
    return demo


def pack_wkb(geoms):
    """Geometries as one byte array and the length of each WKB (for ``np.savez``)."""
    wkb = shapely.to_wkb(geoms)
    lengths = np.fromiter((len(b) for b in wkb), dtype=np.int64, count=len(wkb))
    return np.frombuffer(b"".join(wkb), dtype=np.uint8), lengths


def unpack_wkb(packed, lengths):
    """The geometries of :func:`pack_wkb` back."""
    buffer = packed.tobytes()
    ends = np.cumsum(lengths)
    starts = ends - lengths
    return shapely.from_wkb(np.array(
        [buffer[s:e] for s, e in zip(starts, ends, strict=True)], dtype=object))


def best_of(fn, repeat):
    """``(seconds, result)``: the best time of ``repeat`` calls of ``fn`` and the
    last call's result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result
