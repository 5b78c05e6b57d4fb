"""demine's API under load against pygeoapi, on the national-scale hazard set.

    python3 bench/api_load.py [--hazards 200000 --settlements 30000] [--seconds 30]
                              [--clients 8] [--workers 2] [--demine-path auto]

Loads the synthetic country of ``bench/national_set.py`` (the same set as
``bench/status.py``) once into a SQLite store and once into a PostGIS store on a
throwaway cluster (``tests/pg_cluster.py``), both through ``demine.service.bulk``.
The PostGIS hazards are also copied into a plain table ``pygeoapi_hazards`` with the
fields of demine's hazard record and the same geometry (GiST-indexed, primary key
``code``) for pygeoapi's PostgreSQL provider.

Then, one server at a time, on loopback:
  demine on PostGIS    ``demine serve --workers N`` (uvicorn), bearer token from
                       POST /api/v1/auth/login as a viewer;
  demine on SQLite     the same over the SQLite file;
  pygeoapi on PostGIS  pygeoapi under gunicorn (``--pygeoapi-workers``, 2 sync
                       workers as in the issue's reference measurement).

Each is driven by a separate load-generator process (this file with
``--load-generator``): ``--clients`` closed-loop clients on keep-alive connections, each
requesting the next random 2 km x 2 km bbox inside the data extent (``limit=100``) as
soon as the previous answer is read, for ``--seconds`` after ``--warmup`` seconds of
warm-up on other boxes. Client k's box sequence depends only on ``--seed`` and k, so
every server answers the same questions in the same order. Before the load a few of
the boxes are asked of every server and the answers compared (same hazards).

demine is measured on its OGC API items endpoint (``/ogc/collections/hazards/items``)
when the server has it, else on ``/api/v1/hazards`` (``--demine-path`` forces one).
Printed: requests/s, p50/p90/p99 latency, the throughput ratio of each demine server
to pygeoapi on PostGIS, and whether the target holds: demine at 8 clients >= 3x
pygeoapi-on-PostGIS throughput with p99 < 100 ms, on PostGIS and on SQLite.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
BOX_M = 2_000.0
LIMIT = 100
TARGET_RATIO = 3.0
TARGET_P99_MS = 100.0
TARGET_CLIENTS = 8
#: Boxes asked of every server before the load, to check that they serve the same data.
CHECK_BOXES = 40
OGC_PATH = "/ogc/collections/hazards/items"
REST_PATH = "/api/v1/hazards"
PYGEOAPI_PATH = "/collections/hazards/items"
ACCEPT = "application/geo+json, application/json;q=0.9"
BENCH_USER = "bench-viewer"
#: Columns of demine's hazard record (``io.layers`` hazard_areas) copied for pygeoapi.
HAZARD_FIELDS = ("code", "name", "classification", "declared_classification", "status",
                 "eo_suspected", "eo_confirmed", "blockages", "original_m2", "cancelled_m2",
                 "reduced_m2", "cleared_m2", "remaining_m2", "version", "synthetic",
                 "updated_at")


# --- the boxes ---------------------------------------------------------------------------

def boxes(seed: int, client: int):
    """Client ``client``'s endless sequence of 2 km x 2 km WGS84 bboxes inside the extent."""
    from national_set import HEIGHT_M, M_PER_DEG_LAT, M_PER_DEG_LON, WIDTH_M, to_lonlat

    rng = random.Random(seed * 1_000 + client)
    half = BOX_M / 2
    while True:
        x = rng.uniform(-WIDTH_M / 2 + half, WIDTH_M / 2 - half)
        y = rng.uniform(-HEIGHT_M / 2 + half, HEIGHT_M / 2 - half)
        lon, lat = (float(v) for v in to_lonlat(x, y))
        dlat = half / M_PER_DEG_LAT
        dlon = half / (M_PER_DEG_LON * math.cos(math.radians(lat)))
        yield f"{lon - dlon:.6f},{lat - dlat:.6f},{lon + dlon:.6f},{lat + dlat:.6f}"


def _url(template: str, bbox: str) -> str:
    return template.replace("{bbox}", quote(bbox, safe=","))


# --- the load generator (runs in its own process) ----------------------------------------

def _drive(spec: dict[str, Any], seed: int, seconds: float) -> dict[str, Any]:
    """``spec['clients']`` closed-loop clients for ``seconds``; latencies in ms."""
    clients = spec["clients"]
    headers = {"Accept": ACCEPT, **spec.get("headers", {})}
    results: list[dict[str, Any]] = [{} for _ in range(clients)]
    start_gate = threading.Barrier(clients + 1)
    t0_box: list[float] = []

    def client(k: int) -> None:
        conn = http.client.HTTPConnection(spec["host"], spec["port"], timeout=60)
        seq = boxes(seed, k)
        lat: list[float] = []
        statuses: dict[str, int] = {}
        n_bytes = 0
        errors: list[str] = []
        start_gate.wait()
        deadline = t0_box[0] + seconds
        last_end = t0_box[0]
        while time.perf_counter() < deadline:
            path = _url(spec["template"], next(seq))
            t = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                errors.append(f"{type(exc).__name__}: {exc}")
                statuses["error"] = statuses.get("error", 0) + 1
                continue
            last_end = time.perf_counter()
            lat.append((last_end - t) * 1000.0)
            statuses[str(resp.status)] = statuses.get(str(resp.status), 0) + 1
            n_bytes += len(body)
        conn.close()
        results[k] = {"lat": lat, "statuses": statuses, "bytes": n_bytes,
                      "errors": errors[:3], "end": last_end}

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    for th in threads:
        th.start()
    t0_box.append(time.perf_counter() + 0.05)
    start_gate.wait()
    for th in threads:
        th.join()
    lat = sorted(x for r in results for x in r["lat"])
    statuses: dict[str, int] = {}
    for r in results:
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    elapsed = max(r["end"] for r in results) - t0_box[0]
    ok = statuses.get("200", 0)
    return {
        "clients": clients, "seconds": elapsed, "requests": len(lat), "ok": ok,
        "statuses": statuses, "rps": ok / elapsed if elapsed > 0 else 0.0,
        "p50": _pct(lat, 50), "p90": _pct(lat, 90), "p99": _pct(lat, 99),
        "max": lat[-1] if lat else math.nan, "mean": sum(lat) / len(lat) if lat else math.nan,
        "bytes_per_request": sum(r["bytes"] for r in results) / max(1, len(lat)),
        "errors": [e for r in results for e in r["errors"]][:5],
    }


def _pct(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def load_generator() -> int:
    """Entry of the load-generator process: spec on stdin, result as JSON on stdout."""
    spec = json.loads(sys.stdin.read())
    if spec.get("warmup", 0) > 0:
        _drive(spec, spec["seed"] + 7919, spec["warmup"])
    json.dump(_drive(spec, spec["seed"], spec["seconds"]), sys.stdout)
    return 0


def run_load(host: str, port: int, template: str, headers: dict[str, str], clients: int,
             seconds: float, warmup: float, seed: int) -> dict[str, Any]:
    spec = {"host": host, "port": port, "template": template, "headers": headers,
            "clients": clients, "seconds": seconds, "warmup": warmup, "seed": seed}
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--load-generator"],
                          input=json.dumps(spec), capture_output=True, text=True,
                          timeout=seconds + warmup + 300, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


# --- servers -----------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A server process (and its workers, in their own process group) on loopback."""

    label: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    ready_path: str
    port: int = field(default_factory=_free_port)
    proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120.0) -> None:
        argv = [a.replace("{port}", str(self.port)) for a in self.argv]
        with self.log.open("w", encoding="utf-8") as log:
            self.proc = subprocess.Popen(argv, env={**os.environ, **self.env}, stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True, cwd=self.log.parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited with {self.proc.returncode} at start:"
                                   f"\n{self.log_tail()}")
            try:
                status, _ = self.request("GET", self.ready_path, timeout=5)
                if status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"{self.label} not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def request(self, method: str, path: str, body: dict | None = None,
                headers: dict[str, str] | None = None, timeout: float = 60
                ) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            hdrs = {"Accept": ACCEPT, **(headers or {})}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                hdrs["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def stop(self) -> None:
        """SIGTERM to the server's own process group, SIGKILL if it lingers."""
        if self.proc is None:
            return
        pgid = self.proc.pid  # start_new_session: the group id is the leader's pid
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self.proc = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def demine_server(label: str, db_url: str, workers: int, secret: str, tmp: Path) -> Server:
    return Server(label, [sys.executable, "-m", "demine.cli", "serve", "--db", db_url,
                         "--port", "{port}", "--workers", str(workers)],
                  {"DEMINE_SECRET": secret}, tmp / f"{label.replace(' ', '-')}.log",
                  "/openapi.json")


def pygeoapi_server(tmp: Path, pg, dbname: str, workers: int, extent: list[float]) -> Server:
    """pygeoapi under gunicorn over ``pygeoapi_hazards``; config and OpenAPI in ``tmp``."""
    import yaml

    server = Server("pygeoapi on PostGIS",
                    [sys.executable, "-m", "gunicorn", "--workers", str(workers),
                     "--bind", "127.0.0.1:{port}", "--log-level", "warning",
                     "pygeoapi.flask_app:APP"], {}, tmp / "pygeoapi.log", "/?f=json")
    url = f"http://127.0.0.1:{server.port}"
    config = {
        "server": {
            "bind": {"host": "127.0.0.1", "port": server.port}, "url": url,
            "mimetype": "application/json; charset=UTF-8", "encoding": "utf-8",
            "language": "en-US", "cors": False, "pretty_print": False,
            "limits": {"default_items": 10, "max_items": 1000},
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                    "attribution": "OpenStreetMap"},
        },
        "logging": {"level": "ERROR"},
        # pygeoapi's OpenAPI and landing page read all of these, beyond what its schema
        # requires.
        "metadata": {
            "identification": {"title": "demine bench", "description": "hazard areas",
                               "keywords": ["hazards"], "keywords_type": "theme",
                               "terms_of_service": "https://example.org/terms", "url": url},
            "license": {"name": "CC-BY 4.0", "url": "https://example.org/license"},
            "provider": {"name": "demine bench", "url": url},
            "contact": {"name": "demine bench", "position": "bench", "address": "-",
                        "city": "-", "stateorprovince": "-", "postalcode": "-",
                        "country": "-", "phone": "-", "fax": "-", "email": "bench@example.org",
                        "url": url, "hours": "-", "instructions": "-",
                        "role": "pointOfContact"},
        },
        "resources": {"hazards": {
            "type": "collection", "title": "Hazard areas",
            "description": "Hazard areas (SHA/CHA), a plain copy of demine's hazard_areas",
            "keywords": ["hazards"],
            "extents": {"spatial": {
                "bbox": extent, "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
            "providers": [{
                "type": "feature", "name": "PostgreSQL",
                "data": {"host": "127.0.0.1", "port": pg.port, "dbname": dbname,
                         "user": "demine", "search_path": ["public"]},
                "id_field": "code", "table": "pygeoapi_hazards", "geom_field": "geom",
            }],
        }},
    }
    cfg = tmp / "pygeoapi-config.yml"
    openapi = tmp / "pygeoapi-openapi.yml"
    cfg.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    env = {"PYGEOAPI_CONFIG": str(cfg), "PYGEOAPI_OPENAPI": str(openapi)}
    proc = subprocess.run([sys.executable, "-c", "from pygeoapi import cli; cli()", "openapi",
                           "generate", str(cfg), "--output-file", str(openapi)],
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=300, check=False)
    if proc.returncode != 0 or not openapi.exists():
        raise RuntimeError(f"pygeoapi openapi generate failed ({proc.returncode}):\n"
                           f"{proc.stdout[-2000:]}{proc.stderr[-3000:]}")
    server.env = env
    return server


def copy_for_pygeoapi(pg, dbname: str) -> None:
    """``pygeoapi_hazards``: demine's hazard record fields and geometry, plain columns."""
    cols = ", ".join(HAZARD_FIELDS)
    with pg.connect(dbname) as conn:
        conn.execute("DROP TABLE IF EXISTS pygeoapi_hazards")
        conn.execute(f"CREATE TABLE pygeoapi_hazards AS SELECT {cols}, geom "
                     "FROM hazard_areas ORDER BY code")
        conn.execute("ALTER TABLE pygeoapi_hazards ADD PRIMARY KEY (code)")
        conn.execute("CREATE INDEX pygeoapi_hazards_geom ON pygeoapi_hazards USING GIST (geom)")
        conn.execute("VACUUM ANALYZE pygeoapi_hazards")
        conn.execute("VACUUM ANALYZE hazard_areas")


# --- the answers, compared ---------------------------------------------------------------

def _answer(body: bytes) -> tuple[list[str], int | None]:
    """(hazard codes, number matched if given) of a FeatureCollection or a record page."""
    doc = json.loads(body)
    if "features" in doc:
        codes = [str(f.get("id") or f.get("properties", {}).get("code"))
                 for f in doc["features"]]
        return codes, doc.get("numberMatched")
    return [str(i["code"]) for i in doc["items"]], doc.get("total")


def sample_answers(server: Server, template: str, headers: dict[str, str],
                   seed: int) -> list[tuple[list[str], int | None]]:
    seq = boxes(seed, 0)
    out = []
    for _ in range(CHECK_BOXES):
        status, body = server.request("GET", _url(template, next(seq)), headers=headers)
        if status != 200:
            raise RuntimeError(f"{server.label}: HTTP {status}: {body[:500]!r}")
        out.append(_answer(body))
    return out


def compare(a: list[tuple[list[str], int | None]], b: list[tuple[list[str], int | None]]
            ) -> str | None:
    """None when both servers gave the same answers, else the first difference."""
    for i, ((ca, ma), (cb, mb)) in enumerate(zip(a, b, strict=True)):
        if len(ca) != len(cb):
            return f"box {i}: {len(ca)} vs {len(cb)} features"
        if len(ca) < LIMIT and set(ca) != set(cb):
            return f"box {i}: different hazards"
        if ma is not None and mb is not None and ma != mb:
            return f"box {i}: {ma} vs {mb} matched"
    return None


# --- setup -------------------------------------------------------------------------------

def load_store(url: str, settlements, hazards, password: str) -> tuple[float, str]:
    """Migrate, bulk-load and add the bench viewer; (seconds, URL the server opens)."""
    from demine.service import accounts, bulk
    from demine.store.repository import Repository

    start = time.perf_counter()
    repo = Repository.open(url)
    with repo.unit("bench", "bench setup: national import") as uow:
        bulk.load_settlements(uow, settlements)
        bulk.load_hazards(uow, hazards)
    accounts.add_user(repo, author="bench", username=BENCH_USER, password=password,
                      role="viewer")
    served = repo.url
    repo.close()
    return time.perf_counter() - start, served


def data_extent(hazards) -> list[float]:
    import shapely

    xmin, ymin, xmax, ymax = shapely.total_bounds([h.polygon for h in hazards])
    return [round(float(v), 6) for v in (xmin, ymin, xmax, ymax)]


def login(server: Server, password: str) -> dict[str, str]:
    status, body = server.request("POST", "/api/v1/auth/login",
                                  {"username": BENCH_USER, "password": password})
    if status != 200:
        raise RuntimeError(f"{server.label}: login refused: HTTP {status}: {body[:300]!r}")
    return {"Authorization": f"Bearer {json.loads(body)['access_token']}"}


def demine_template(server: Server, headers: dict[str, str], choice: str) -> str:
    """The items path with ``{bbox}``: /ogc when asked for or (auto) when served."""
    if choice == "auto":
        status, _ = server.request("GET", f"{OGC_PATH}?limit=1", headers=headers)
        path = OGC_PATH if status == 200 else REST_PATH
    else:
        path = choice
    return f"{path}?bbox={{bbox}}&limit={LIMIT}"


def _versions(pg) -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for name in ("demine", "pygeoapi", "gunicorn", "uvicorn"):
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    if pg is not None:
        with pg.connect() as conn:
            pgv = conn.execute("SHOW server_version").fetchone()[0]
            gisv = conn.execute("SELECT postgis_lib_version()").fetchone()[0]
        parts.append(f"PostgreSQL {pgv}, PostGIS {gisv}")
    return ", ".join(parts)


def _pygeoapi_missing() -> str | None:
    import importlib.util

    for module, pip_name in (("pygeoapi", "pygeoapi"), ("gunicorn", "gunicorn"),
                             ("psycopg2", "psycopg2-binary")):
        if importlib.util.find_spec(module) is None:
            return (f"{module} is not installed (pip install '{pip_name}', or "
                    f"pip install -e '.[bench]')")
    return None


# --- the benchmark -----------------------------------------------------------------------

@dataclass
class Target:
    key: str
    label: str
    server: Server
    template: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    answers: list = field(default_factory=list)
    runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None


def _row(label: str, r: dict[str, Any], base: dict[str, Any] | None = None) -> str:
    bad = r["requests"] - r["ok"]
    ratio = f"{r['rps'] / base['rps']:>7.2f}x" if base and base["rps"] else f"{'':>8}"
    tail = f"   {bad} not OK: {r['statuses']} {r['errors'][:1]}" if bad else ""
    return (f"{label:<22}{r['clients']:>3} {r['rps']:>9.1f} {r['p50']:>8.1f} {r['p90']:>8.1f} "
            f"{r['p99']:>8.1f} {r['max']:>8.1f} {r['bytes_per_request'] / 1024:>8.1f} "
            f"{ratio}{tail}")


def main(argv: list[str] | None = None) -> int:
    from national_set import DEFAULT_SEED

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hazards", type=int, default=200_000)
    parser.add_argument("--settlements", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help="seed of the data set and of the bbox sequences")
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="measured duration per server and client count")
    parser.add_argument("--warmup", type=float, default=3.0,
                        help="warm-up seconds before each measurement (other boxes)")
    parser.add_argument("--clients", type=int, nargs="+", default=[TARGET_CLIENTS],
                        help="concurrent clients; several values run one after the other")
    parser.add_argument("--workers", type=int, default=2, help="demine serve --workers")
    parser.add_argument("--pygeoapi-workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--demine-path", default="auto",
                        help=f"items path of demine: auto ({OGC_PATH} when served, else "
                             f"{REST_PATH}) or a path")
    parser.add_argument("--only", nargs="+",
                        choices=["demine-postgis", "demine-sqlite", "pygeoapi-postgis"],
                        help="measure only these servers")
    parser.add_argument("--load-generator", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_generator:
        return load_generator()
    wanted = set(args.only or ["demine-postgis", "demine-sqlite", "pygeoapi-postgis"])
    clients = sorted(set(args.clients))

    sys.path.insert(0, str(ROOT / "tests"))
    from national_set import generate
    from pg_cluster import ThrowawayPostgis

    t_run = time.perf_counter()
    pygeoapi_problem = _pygeoapi_missing() if "pygeoapi-postgis" in wanted else None
    need_pg = bool(wanted & {"demine-postgis", "pygeoapi-postgis"})
    tmp = Path(tempfile.mkdtemp(prefix="demine-api-load-"))
    pg = ThrowawayPostgis() if need_pg else None
    targets: list[Target] = []
    try:
        if pg is not None:
            pg.start()
        print(f"demine API load bench: {args.hazards} hazards, {args.settlements} settlements,"
              f" seed {args.seed}; {args.seconds:g} s per run after {args.warmup:g} s warm-up, "
              f"clients {clients}, bbox {BOX_M / 1000:g} km, limit {LIMIT}; "
              f"{os.cpu_count()} CPUs")
        print(f"versions: {_versions(pg)}")
        t_gen = time.perf_counter()
        settlements, hazards, _ = generate(args.hazards, args.settlements, args.seed)
        extent = data_extent(hazards)
        print(f"setup: generated in {time.perf_counter() - t_gen:.1f} s; extent {extent}")
        password = secrets.token_urlsafe(18)
        secret = secrets.token_urlsafe(48)
        dbname = "demine_bench"

        if "demine-sqlite" in wanted:
            t_load, url = load_store(f"sqlite:///{tmp / 'bench.sqlite'}", settlements,
                                     hazards, password)
            print(f"setup: SQLite store loaded in {t_load:.1f} s")
            targets.append(Target("demine-sqlite", "demine on SQLite",
                                  demine_server("demine on SQLite", url, args.workers, secret,
                                                tmp)))
        if pg is not None:
            pg.create_database(dbname)
            t_load, url = load_store(pg.url_for(dbname), settlements, hazards, password)
            t_copy = time.perf_counter()
            copy_for_pygeoapi(pg, dbname)
            print(f"setup: PostGIS store loaded in {t_load:.1f} s; pygeoapi_hazards copied "
                  f"in {time.perf_counter() - t_copy:.1f} s")
            if "demine-postgis" in wanted:
                targets.insert(0, Target("demine-postgis", "demine on PostGIS",
                                         demine_server("demine on PostGIS", url, args.workers,
                                                       secret, tmp)))
        del settlements, hazards
        if "pygeoapi-postgis" in wanted:
            if pygeoapi_problem is None:
                try:
                    server = pygeoapi_server(tmp, pg, dbname, args.pygeoapi_workers, extent)
                    targets.append(Target("pygeoapi-postgis", "pygeoapi on PostGIS", server,
                                          f"{PYGEOAPI_PATH}?bbox={{bbox}}&limit={LIMIT}&f=json"))
                except RuntimeError as exc:
                    pygeoapi_problem = str(exc)
            if pygeoapi_problem:
                print(f"pygeoapi: cannot run: {pygeoapi_problem}")

        for t in targets:
            try:
                t.server.start()
                if t.key.startswith("demine"):
                    t.headers = login(t.server, password)
                    t.template = demine_template(t.server, t.headers, args.demine_path)
                t.answers = sample_answers(t.server, t.template, t.headers, args.seed)
                print(f"{t.label}: serving on port {t.server.port}, measuring "
                      f"{t.template.split('?')[0]}")
                for n in clients:
                    t.runs[n] = run_load("127.0.0.1", t.server.port, t.template, t.headers, n,
                                         args.seconds, args.warmup, args.seed)
                    print("  " + _row(t.label, t.runs[n]).strip())
            except RuntimeError as exc:
                t.error = str(exc)
                print(f"{t.label}: FAILED: {exc}\n{t.server.log_tail()}")
            finally:
                t.server.stop()
    finally:
        for t in targets:
            t.server.stop()
        if pg is not None:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    # report -----------------------------------------------------------------------------
    print()
    by_key = {t.key: t for t in targets}
    ref = by_key.get("pygeoapi-postgis")
    print(f"{'server':<22}{'cl':>3} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8} {'KiB/req':>8} {'/pygeoapi':>8}")
    for t in targets:
        for n in clients:
            if n in t.runs:
                base = ref.runs.get(n) if ref is not None and t is not ref else None
                print(_row(t.label, t.runs[n], base))
    if ref is not None and ref.answers:
        for t in targets:
            if t is not ref and t.answers:
                diff = compare(t.answers, ref.answers)
                print(f"same answers as pygeoapi on {CHECK_BOXES} boxes: {t.label} "
                      f"{'yes' if diff is None else 'NO (' + diff + ')'}")
    at = TARGET_CLIENTS if TARGET_CLIENTS in clients else clients[-1]
    ok_all = True
    for key in ("demine-postgis", "demine-sqlite"):
        t = by_key.get(key)
        if t is None:
            continue
        r = t.runs.get(at)
        base = ref.runs.get(at) if ref is not None else None
        if r is None or base is None or not base["rps"]:
            print(f"target {t.label} at {at} clients: NOT EVALUATED "
                  f"({'no demine run' if r is None else 'no pygeoapi run'})")
            ok_all = False
            continue
        ratio = r["rps"] / base["rps"]
        met = ratio >= TARGET_RATIO and r["p99"] < TARGET_P99_MS and r["ok"] == r["requests"]
        ok_all = ok_all and met
        print(f"target {t.label} at {at} clients: {ratio:.2f}x pygeoapi throughput "
              f"(>= {TARGET_RATIO:g}x), p99 {r['p99']:.1f} ms (< {TARGET_P99_MS:g} ms): "
              f"{'MET' if met else 'MISSED'}")
    if at != TARGET_CLIENTS:
        print(f"note: the target is stated at {TARGET_CLIENTS} clients; evaluated at {at}")
    print(f"whole run {time.perf_counter() - t_run:.0f} s")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
