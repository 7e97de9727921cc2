"""One layer of a GDAL vector file (Shapefile, GeoPackage) → :class:`Result`.

Shared by :mod:`importers.shapefile` and :mod:`importers.geopackage`: pyogrio reads
the layer with its CRS; :func:`importers.accept.accept_geometries` does the rest.
``row`` is the feature's position from 1 (a shapefile's FID plus one).
"""

import warnings as _warnings

import numpy as np

from .accept import accept_geometries
from .messages import place, say, thing
from .reproject import choose
from .result import ImportRefused, Result
from .table import check_mapping

__all__ = ["read_layer", "open_errors"]


def open_errors():
    """The exceptions pyogrio raises for an unreadable file or layer."""
    import pyogrio.errors

    return (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
            pyogrio.errors.FieldError, pyogrio.errors.GeometryError,
            pyogrio.errors.CRSError, pyogrio.errors.FeatureError)


def read_layer(path, *, fmt, where, layer=None, encoding=None, crs=None, swap=False,
               bbox=None, mapping=None, warnings=()):
    """Read ``layer`` of the file at ``path``.

    Parameters
    ----------
    fmt : ``shapefile`` or ``gpkg``, for the :class:`Result`
    where : what holds the CRS, for messages: ``the .prj``, or a pair
        (English, Chinese)
    encoding : of the attributes, or None for GDAL's own choice
    crs, swap, bbox, mapping : as in :func:`importers.csvfile.read`; ``crs`` is
        used when the file has none (and for GCJ-02 / BD-09, see
        :func:`importers.reproject.choose`)
    """
    import pandas as pd
    import pyogrio

    notes = list(warnings)
    try:
        with _warnings.catch_warnings(record=True) as caught:
            _warnings.simplefilter("always", RuntimeWarning)
            gdf = pyogrio.read_dataframe(path, layer=layer, encoding=encoding)
    except open_errors() as exc:
        raise ImportRefused(say("ogr_unreadable", fmt=fmt, fmt_zh=thing(fmt),
                                error=exc)) from None
    except (LookupError, UnicodeDecodeError) as exc:
        raise ImportRefused(say("encoding_given", encoding=encoding,
                                error=exc)) from None
    for warning in caught:
        if "converted" in str(warning.message):  # GDAL could not recode some bytes
            note = say("dbf_undecodable", used=encoding)
            notes += [] if note in notes else [note]
        else:
            _warnings.warn_explicit(warning.message, warning.category,
                                    warning.filename, warning.lineno)
    if gdf.crs is None:
        named, named_zh = place(where)
        notes.append(say("crs_missing", where=named, where_zh=named_zh,
                         crs=crs or "WGS-84",
                         advice="" if crs else "; give crs= if not",
                         advice_zh="" if crs else "；如不是，请指定 crs="))
    key, used, said = choose(gdf.crs, crs, where=where)
    attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    columns = {"geometry": "geometry", **check_mapping(mapping, attrs.columns)}
    rows = np.arange(1, len(gdf) + 1)
    accepted = accept_geometries(np.asarray(gdf.geometry.array, dtype=object), rows,
                                 attrs, key, used, swap=swap, bbox=bbox)
    return Result(frame=accepted.frame, rejected=accepted.rejected, crs=accepted.crs,
                  columns=columns, warnings=notes + said + accepted.warnings,
                  format=fmt, encoding=encoding)
