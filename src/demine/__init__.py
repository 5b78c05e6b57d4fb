"""demine: the record of explosive hazards, land release and settlements.

The package is organised as one core (``domain``, ``geo``) with doors around it
(``cli``) and one store (``store``) that is the only place that knows SQL.
"""

__version__ = "0.1.0"
