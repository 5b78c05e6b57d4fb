"""Twenty editors on one settlement at once, over a real socket: no update is lost.

Each client logs in on its own and adds one to the settlement's population, a number of
times, always naming the version it read (``If-Match``). Two clients that read the same
version cannot both win: the second gets 409, reads again and retries. In the end the
population has grown by exactly the number of successful updates, the versions follow
one another without a gap, and the audit trail holds one entry per update.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

CLIENTS = 20
#: successful increments each client makes
INCREMENTS = 3
DEADLINE_S = 240


@dataclass
class Outcome:
    #: (version written, population written) of each successful update
    applied: list[tuple[int, int]] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    conflicts: list[str] = field(default_factory=list)
    error: BaseException | None = None


def _read(http: httpx.Client, url: str, headers: dict[str, str]) -> tuple[int, int]:
    response = http.get(url, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{response.json()["version"]}"'
    record = response.json()
    return record["version"], record["population"]


def _editor(base_url: str, url: str, username: str, kit, ready: threading.Barrier,
            outcome: Outcome) -> None:
    try:
        with httpx.Client(base_url=base_url, timeout=60) as http:
            headers = kit.login(http, username)  # each client its own login
            version, population = _read(http, url, headers)
            ready.wait(timeout=120)  # everyone has read the same version: all race for it
            deadline = time.monotonic() + DEADLINE_S
            while len(outcome.applied) < INCREMENTS:
                assert time.monotonic() < deadline, "no progress: a client never got through"
                response = http.patch(url, json={"population": population + 1},
                                      headers={**headers, "If-Match": f'"{version}"'})
                outcome.statuses[response.status_code] += 1
                if response.status_code == 200:
                    written = response.json()["version"]
                    assert written == version + 1, response.text
                    assert response.headers["etag"] == f'"{written}"'
                    outcome.applied.append((written, population + 1))
                else:
                    assert response.status_code == 409, response.text
                    outcome.conflicts.append(response.json()["detail"])
                version, population = _read(http, url, headers)
    except BaseException as exc:  # reported by the test, not lost in a thread
        outcome.error = exc


def test_concurrent_edits_lose_no_update(live_server, kit) -> None:
    base = live_server.base_url
    viewer = live_server.auth_header
    with httpx.Client(base_url=base, timeout=60) as http:
        code = http.get("/api/v1/settlements", params={"limit": 1, "sort": "-population"},
                        headers=viewer).json()["items"][0]["code"]
        url = f"/api/v1/settlements/{code}"
        version0, population0 = _read(http, url, viewer)
        history0 = http.get(f"{url}/history", headers=viewer).json()["items"]

    ready = threading.Barrier(CLIENTS)
    outcomes = [Outcome() for _ in range(CLIENTS)]
    threads = [threading.Thread(
        target=_editor, args=(base, url, "im" if i % 2 else "admin", kit, ready, outcomes[i]),
        name=f"editor-{i}") for i in range(CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE_S + 180)
        assert not thread.is_alive(), f"{thread.name} is stuck"
    elapsed = time.monotonic() - started
    for outcome in outcomes:
        if outcome.error is not None:
            raise outcome.error

    applied = sorted(a for o in outcomes for a in o.applied)
    successes = CLIENTS * INCREMENTS
    statuses = sum((o.statuses for o in outcomes), Counter())
    assert set(statuses) <= {200, 409}, statuses
    assert statuses[200] == successes
    # every client raced for the same first version: one won it, the others lost it
    assert statuses[409] >= CLIENTS - 1, statuses
    assert all("version" in c for o in outcomes for c in o.conflicts)
    # the updates applied one after another, each on the one before it
    assert applied == [(version0 + k, population0 + k) for k in range(1, successes + 1)]

    with httpx.Client(base_url=base, timeout=60) as http:
        version, population = _read(http, url, viewer)
        history = http.get(f"{url}/history", headers=viewer).json()["items"]
    assert population == population0 + successes, "an update was lost"
    assert version == version0 + successes
    new = history[len(history0):]
    assert history[:len(history0)] == history0
    assert len(new) == successes, "the audit trail does not have one entry per update"
    for k, entry in enumerate(new, start=1):
        assert entry["action"] == "update" and entry["author"] in ("im", "admin"), entry
        assert entry["version"] == version0 + k
        assert entry["changed"]["population"] == {"before": population0 + k - 1,
                                                  "after": population0 + k}, entry
    print(f"{live_server.db.backend}: {successes} updates by {CLIENTS} clients, "
          f"{statuses[409]} conflicts, in {elapsed:.1f} s")
