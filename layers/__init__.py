"""The PostGIS side of gridgov: all SQL lives here (imports only geo/)."""
