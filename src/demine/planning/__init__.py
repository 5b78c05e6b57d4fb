"""Clearance planning: sequencing work items on demining assets (ATC, local search, CP-SAT)."""
