"""The child side of :class:`demine.planning.lp_bound.BackgroundBound`.

``python -m demine.planning.lp_child`` reads one pickled ``(problem, pools, horizon,
buckets, time_limit)`` from stdin and writes the pickled
:class:`~demine.planning.lp_bound.Relaxation` (or None) to stdout. A fresh interpreter
started this way imports only demine, never the parent's own script: multiprocessing's
spawn would run an unguarded calling script's top level again in the child (importing
or writing whatever it does), and a fork could inherit a server thread's lock held.
The pipe is between a plan and the child it started, so pickle is safe here.
"""

from __future__ import annotations

import pickle
import sys

from demine.planning.lp_bound import time_indexed_relaxation


def main() -> None:
    pb, pools, horizon, buckets, time_limit = pickle.load(sys.stdin.buffer)
    solved = time_indexed_relaxation(pb, pools, horizon=horizon, buckets=buckets,
                                     time_limit=time_limit)
    try:
        pickle.dump(solved, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    except BrokenPipeError:  # the plan stopped listening (its time was up)
        sys.exit(0)


if __name__ == "__main__":
    main()
