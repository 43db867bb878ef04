"""Everything spatial: all PostGIS SQL, shapely helpers and location privacy."""
