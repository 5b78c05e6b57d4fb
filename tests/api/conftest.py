"""The server's fixtures live in ``tests/server_fixtures.py``, shared with the browser
tests; importing them here makes them fixtures of this directory."""

from server_fixtures import (  # noqa: F401
    client,
    headers,
    kit,
    live_server,
    served_db,
    server_process,
)
