"""Small shared geometries (EPSG:4326, near the demo town)."""

# A 0.01° square (about 950 m × 1,110 m at latitude 31.2°) and a bow-tie, which
# self-intersects at (119.705, 31.205): not a valid polygon.
SQUARE = "MULTIPOLYGON(((119.70 31.20, 119.71 31.20, 119.71 31.21, 119.70 31.21, 119.70 31.20)))"  # noqa: E501
BOWTIE = "MULTIPOLYGON(((119.70 31.20, 119.71 31.21, 119.71 31.20, 119.70 31.21, 119.70 31.20)))"  # noqa: E501
INNER = "MULTIPOLYGON(((119.701 31.201, 119.709 31.201, 119.709 31.209, 119.701 31.209, 119.701 31.201)))"  # noqa: E501
