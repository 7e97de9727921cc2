"""Field data into gridgov: one reader per file format, one dispatcher.

Each format module exposes ``read(source, **options) -> Result``:
:mod:`~importers.csvfile`, :mod:`~importers.xlsx`, :mod:`~importers.gpx`,
:mod:`~importers.geojson`, :mod:`~importers.kml` (KML and KMZ),
:mod:`~importers.shapefile` and :mod:`~importers.geopackage`.
:func:`read_any` sniffs the content and picks one. A :class:`Result` holds the
accepted rows as a GeoDataFrame in EPSG:4326 and the rejected ones with a reason
each; a file that cannot be imported at all raises :class:`ImportRefused`.

>>> result = read_any(b"name,lng,lat\\nA,119.7,31.2\\nB,31.2,abc\\n")
>>> len(result.frame), result.rejected[0]["row"], result.columns
(1, 3, {'lon': 'lng', 'lat': 'lat'})
"""

from .registry import EXTENSIONS, READERS, read_any, sniff
from .result import MAX_FILE_BYTES, CrsUsed, ImportRefused, Result

__all__ = ["read_any", "sniff", "READERS", "EXTENSIONS", "Result", "CrsUsed",
           "ImportRefused", "MAX_FILE_BYTES"]
