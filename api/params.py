"""Parsing of query parameters: a bad one raises ``Invalid`` naming it."""

import math

from flask import request

from layers.errors import Invalid

__all__ = ["float_arg", "int_arg", "bbox_arg"]


def float_arg(name, low, high, required=True):
    """A float query parameter within ``[low, high]``."""
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        if required:
            raise Invalid(f"parameter '{name}' is required", field=name)
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Invalid(f"parameter '{name}' must be a number, got {raw!r}",
                      field=name) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise Invalid(f"parameter '{name}' must be between {low} and {high}, got {raw}",
                      field=name)
    return value


def int_arg(name, low, high, default=None):
    """An optional integer query parameter within ``[low, high]``."""
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"parameter '{name}' must be an integer, got {raw!r}",
                      field=name) from None
    if not low <= value <= high:
        raise Invalid(f"parameter '{name}' must be between {low} and {high}, got {raw}",
                      field=name)
    return value


def bbox_arg(name="bbox"):
    """``min_lon,min_lat,max_lon,max_lat`` in EPSG:4326, or None when absent."""
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return None
    parts = raw.split(",")
    message = f"parameter '{name}' must be min_lon,min_lat,max_lon,max_lat in degrees"
    if len(parts) != 4:
        raise Invalid(message + f", got {raw!r}", field=name)
    try:
        x0, y0, x1, y1 = (float(p) for p in parts)
    except ValueError:
        raise Invalid(message + f", got {raw!r}", field=name) from None
    ok = (-180 <= x0 <= x1 <= 180) and (-90 <= y0 <= y1 <= 90)
    if not ok:
        raise Invalid(message + " with min <= max, got " + repr(raw), field=name)
    return (x0, y0, x1, y1)
