"""Quality-control sampling and residual-risk figures for released land."""
