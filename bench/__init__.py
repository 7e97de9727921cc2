"""Benchmarks on the generated city (``geo.demo.generate("city")``), not tests.

Each benchmark is a module of this package with a ``main(argv)`` returning an exit
code, run as ``python -m bench NAME [options]``; each prints our figure beside a
baseline measured in the same run. Cached inputs live under ``var/bench/``.
"""

from pathlib import Path

__all__ = ["ROOT", "VAR"]

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
