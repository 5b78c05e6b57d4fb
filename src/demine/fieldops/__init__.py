"""Field operations: lane and box layouts for manual teams and exports for field devices."""
