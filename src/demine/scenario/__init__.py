"""The synthetic demo district: a whole programme to explore without touching real data.

Everything here is generated from a seed and labelled synthetic in every record, and it
lies on an inland plain with no history of mine contamination, so it can never be
mistaken for (or leak) the coordinates of a real contaminated region.
"""

from demine.scenario.district import (
    DEMO_DATE,
    District,
    LoadSummary,
    closed_settlement_codes,
    generate_district,
    load_demo,
)

__all__ = [
    "DEMO_DATE",
    "District",
    "LoadSummary",
    "closed_settlement_codes",
    "generate_district",
    "load_demo",
]
