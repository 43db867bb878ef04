"""Coverage maps (hexagons, vector tiles, need points) and the coordinator's metrics."""
