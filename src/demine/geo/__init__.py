"""Geometry rules and the metric projection: everything demine measures is in metres."""
