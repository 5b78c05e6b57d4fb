"""The HTTP door: REST API, OGC API - Features and vector tiles over the same services."""
