"""``python -m bench NAME [options]``: run the benchmark ``bench/NAME.py``.

Every module of the package with a ``main(argv)`` function is a benchmark, so a new
one needs no registration here.
"""

import importlib
import inspect
import pkgutil
import sys

import bench


def _benchmarks():
    names = []
    for info in pkgutil.iter_modules(bench.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        if callable(getattr(module, "main", None)):
            names.append(info.name)
    return sorted(names)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    names = _benchmarks()
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in names:
        print("usage: python -m bench NAME [options]   (NAME --help for its options)")
        print("benchmarks: " + ", ".join(names))
        if argv and argv[0] not in ("-h", "--help"):
            print(f"unknown benchmark {argv[0]!r}")
            return 2
        return 0
    run = importlib.import_module(f"bench.{argv[0]}").main
    if inspect.signature(run).parameters:
        return run(argv[1:]) or 0
    sys.argv = [f"bench {argv[0]}", *argv[1:]]
    return run() or 0


if __name__ == "__main__":
    sys.exit(main())
