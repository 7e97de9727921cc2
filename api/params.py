"""Parsing of query parameters: a bad one raises ``Invalid`` naming it."""

import datetime as dt
import math

import pandas as pd
from flask import request

from importers.coordinates import parse_angles
from layers.errors import Invalid

__all__ = ["float_arg", "int_arg", "bbox_arg", "angle_arg", "date_arg", "flag_arg"]


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


def angle_arg(name, low, high, required=True):
    """An angle in degrees within ``[low, high]``: decimal, or degrees-minutes-
    seconds as people type them (116°23'17.5"E, 北纬31度34分, 31 34 12.5)."""
    raw = request.args.get(name)
    if raw is not None and raw.strip() and not _is_number(raw):
        value = parse_angles(pd.Series([raw.strip()], dtype=object))[0]
        if not math.isfinite(value):
            raise Invalid(f"parameter '{name}' must be degrees (decimal or "
                          f"degrees-minutes-seconds), got {raw!r}", field=name)
        if not low <= value <= high:
            raise Invalid(f"parameter '{name}' must be between {low} and {high}, "
                          f"got {raw} = {value:.7f}", field=name)
        return value
    return float_arg(name, low, high, required)


def _is_number(raw):
    try:
        float(raw)
    except ValueError:
        return False
    return True


def flag_arg(name, default=False):
    """A yes/no query parameter (1/true/yes/on or 0/false/no/off); ``default``
    when absent. Anything else is refused rather than read as no."""
    text = request.args.get(name, "").strip().lower()
    if not text:
        return default
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise Invalid(f"parameter '{name}' must be true or false (1 or 0), "
                  f"got {request.args[name]!r}", field=name)


def date_arg(name, required=False):
    """A date query parameter YYYY-MM-DD; None when absent unless ``required``."""
    raw = request.args.get(name, "").strip()
    if not raw and not required:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"parameter '{name}' must be a date YYYY-MM-DD, got {raw!r}",
                      field=name) from None


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
