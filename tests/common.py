"""Small shared geometries (EPSG:4326, near the demo town)."""

# A 0.01° square (about 950 m × 1,110 m at latitude 31.2°) and a bow-tie, which
# self-intersects at (119.705, 31.205): not a valid polygon.
SQUARE = "MULTIPOLYGON(((119.70 31.20, 119.71 31.20, 119.71 31.21, 119.70 31.21, 119.70 31.20)))"  # noqa: E501
BOWTIE = "MULTIPOLYGON(((119.70 31.20, 119.71 31.21, 119.71 31.20, 119.70 31.21, 119.70 31.20)))"  # noqa: E501
INNER = "MULTIPOLYGON(((119.701 31.201, 119.709 31.201, 119.709 31.209, 119.701 31.209, 119.701 31.201)))"  # noqa: E501

# The sizes of one county of a tiny province (``geo.demo.Scale(**TINY_COUNTY)``):
# a county of 1 town, 2 villages, 3 + 6 grids, 120–180 households, 30 cameras and
# 45 incidents, generated in about a second (the province's own: 300,000 households).
TINY_COUNTY = {
    "towns": 1, "villages": 2, "level3": 3, "level4": 6, "households": (20, 30),
    "cameras": 30, "town_km2": 4.0, "counties": 2,
    "incidents": {"dispute": 20, "public_order": 10, "environment": 10,
                  "illegal_building": 5},
}
