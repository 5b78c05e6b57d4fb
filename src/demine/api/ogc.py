"""OGC API - Features (Part 1 Core, GeoJSON, OpenAPI 3.0) at ``/ogc``, read only.

Why a second face on the same records: QGIS, ArcGIS, GDAL/OGR and owslib speak OGC API -
Features out of the box, so a centre's GIS staff can add hazards, settlements, released
land and finds as live layers without an export. Every read goes through
``service.records`` (``list_records``, ``get_record``), so the filters, the access rules and
the redaction are exactly the REST API's; this module only translates parameters and
shapes GeoJSON.

Every data endpoint needs the same bearer token as the REST API (clients pass it as a
header: ``GDAL_HTTP_HEADERS``, owslib's ``headers``). Only the API definition at
``/ogc/api`` is public, as ``/openapi.json`` is: it describes the interface, holds no
data, and generic clients fetch it without credentials.

Coordinates are WGS 84 longitude/latitude (CRS84) throughout. The Part 2 ``crs`` and
``bbox-crs`` parameters are understood with CRS84 as the one supported value, so a client
that asks for the CRS explicitly gets a clear answer instead of an unknown-parameter error.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import QueryParams

from demine.api.errors import refusals_as_json
from demine.api.security import Caller
from demine.domain.access import Principal
from demine.domain.errors import NotFound, ValidationError
from demine.service import records
from demine.service.records import MAX_LIMIT, RecordSet

router = APIRouter(prefix="/ogc", tags=["ogc"], responses=refusals_as_json())

#: collection id -> the record set it serves; ids are the REST resource names
COLLECTIONS: dict[str, RecordSet] = {
    name: records.RECORD_SETS[name]
    for name in ("hazards", "settlements", "outcomes", "findings")
}
DESCRIPTIONS = {
    "hazards": "Suspected and confirmed hazardous areas (SHA/CHA) with their land-release "
               "status and remaining area.",
    "settlements": "Settlements with their closure status and the hazards blocking them.",
    "outcomes": "Polygons of land released by cancellation, technical survey (reduction) "
                "or clearance.",
    "findings": "Explosive ordnance items found during survey and clearance.",
}

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
)
JSON = "application/json"
GEOJSON = "application/geo+json"
OAS30 = "application/vnd.oai.openapi+json;version=3.0"
OAS31 = "application/vnd.oai.openapi+json;version=3.1"

DEFAULT_LIMIT = 10
MAX_OFFSET = 10**9
#: parameters every items request may carry; a collection adds its property filters
ITEM_PARAMS = frozenset({"bbox", "bbox-crs", "crs", "datetime", "limit", "offset", "f"})
FORMATS = frozenset({"json", "geojson"})


class GeoJSONResponse(JSONResponse):
    media_type = GEOJSON


class OpenAPI30Response(JSONResponse):
    media_type = OAS30


# --- parameters ---------------------------------------------------------------------

def bad_parameter(name: str, problem: str) -> HTTPException:
    """The 400 the standard asks for, naming the parameter so the user can fix the URL."""
    return HTTPException(400, f"{name}: {problem}")


def single_values(params: QueryParams) -> dict[str, str]:
    """Each parameter at most once: a repeated ``bbox`` or ``limit`` is ambiguous."""
    out: dict[str, str] = {}
    for key, value in params.multi_items():
        if key in out:
            raise bad_parameter(key, "given more than once")
        out[key] = value
    return out


def property_filters(rs: RecordSet) -> dict[str, str]:
    """Property name -> REST filter name, for the properties a collection filters on.

    OGC clients filter by property name (``classification=CHA``); the shared query takes
    the REST parameter name (``type``), which may differ.
    """
    return {column: param for param, column in rs.filters.items()}


def check_known(rs: RecordSet, given: Mapping[str, str]) -> None:
    """Refuse unknown parameters: silently ignoring a misspelt filter would return
    everything and look like an answer."""
    allowed = ITEM_PARAMS | property_filters(rs).keys()
    for name in given:
        if name not in allowed:
            raise bad_parameter(name, f"unknown parameter; {rs.name} items take "
                                      + ", ".join(sorted(allowed)))


def check_format(value: str | None) -> None:
    """``f=json`` is what many clients add; GeoJSON is the only encoding served."""
    if value is not None and value.lower() not in FORMATS:
        raise bad_parameter("f", "only json (GeoJSON) is served")


def check_crs(name: str, value: str | None) -> None:
    """CRS84 is the only coordinate reference system served or understood."""
    if value is not None and value.strip().strip("<>") != CRS84:
        raise bad_parameter(name, f"only {CRS84} is supported")


def parse_int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise bad_parameter(name, f"expected a whole number, got {value!r}") from None


def parse_limit(value: str | None) -> int:
    """Default 10; above the maximum the server answers with the maximum, as the
    standard says, rather than refusing."""
    if value is None:
        return DEFAULT_LIMIT
    limit = parse_int("limit", value)
    if limit < 1:
        raise bad_parameter("limit", "must be 1 or more")
    return min(limit, MAX_LIMIT)


def parse_offset(value: str | None) -> int:
    if value is None:
        return 0
    offset = parse_int("offset", value)
    if not 0 <= offset <= MAX_OFFSET:
        raise bad_parameter("offset", f"must be 0 to {MAX_OFFSET}")
    return offset


def parse_bbox(value: str | None) -> tuple[float, float, float, float] | None:
    """Four numbers, or six with heights: the features are 2D, so heights cannot
    exclude any of them and are dropped."""
    if value is None:
        return None
    parts = value.split(",")
    if len(parts) not in (4, 6):
        raise bad_parameter("bbox", "expected four numbers: minx,miny,maxx,maxy")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise bad_parameter("bbox", f"expected numbers, got {value!r}") from None
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    try:
        return records.check_bbox(numbers)
    except ValidationError as exc:
        raise bad_parameter("bbox", exc.problem) from None


def parse_instant(text: str) -> date | datetime:
    """An RFC 3339 date or date-time; a time without offset is taken as UTC, the
    store's zone, and every time is compared in UTC."""
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise bad_parameter("datetime", f"{text!r} is not an RFC 3339 date or date-time"
                            ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _start(value: date | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.combine(value, time.min, UTC)


def _end(value: date | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.combine(value, time.max, UTC)


def parse_datetime(value: str | None) -> tuple[date | datetime | None, date | datetime | None]:
    """An instant, or an interval ``start/end`` whose open ends are ``..`` or empty."""
    if value is None:
        return None, None
    if "/" not in value:
        if value in ("", ".."):
            raise bad_parameter("datetime", "expected an instant or an interval start/end")
        instant = parse_instant(value)
        return instant, instant
    start_text, end_text = value.split("/", 1)
    if "/" in end_text:
        raise bad_parameter("datetime", "an interval has one '/'")
    start = None if start_text in ("", "..") else parse_instant(start_text)
    end = None if end_text in ("", "..") else parse_instant(end_text)
    if start is not None and end is not None and _start(start) > _end(end):
        raise bad_parameter("datetime", "the interval starts after it ends")
    return start, end


def items_query(rs: RecordSet, params: QueryParams) -> records.Query:
    """The shared list query an items request stands for, or a 400 naming the problem."""
    given = single_values(params)
    check_known(rs, given)
    check_format(given.get("f"))
    check_crs("crs", given.get("crs"))
    check_crs("bbox-crs", given.get("bbox-crs"))
    date_from, date_to = parse_datetime(given.get("datetime"))
    if rs.date_column is None:  # no time: every feature meets any datetime
        date_from = date_to = None
    filters = {param: given[prop] for prop, param in property_filters(rs).items()
               if prop in given}
    return records.Query(limit=parse_limit(given.get("limit")),
                         offset=parse_offset(given.get("offset")),
                         bbox=parse_bbox(given.get("bbox")), date_from=date_from,
                         date_to=date_to, filters=filters, count=False)


# --- documents ----------------------------------------------------------------------

def link(href: Any, rel: str, media_type: str, title: str | None = None) -> dict[str, str]:
    out = {"href": str(href), "rel": rel, "type": media_type}
    if title:
        out["title"] = title
    return out


def collection_set(collection_id: str) -> RecordSet:
    try:
        return COLLECTIONS[collection_id]
    except KeyError:
        raise NotFound("collection", collection_id) from None


def rfc3339(value: date | datetime, *, end_of_day: bool) -> str:
    """A stored date or time as an RFC 3339 UTC instant, to the microsecond so that the
    extent's end still selects the last record (a date stands for its whole day)."""
    if isinstance(value, datetime):
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    else:
        value = _end(value) if end_of_day else _start(value)
    return value.isoformat().replace("+00:00", "Z")


def extent(request: Request, rs: RecordSet, who: Principal) -> dict[str, Any]:
    """Bounding box and time span of what the caller can see, from the data, so that
    clients zoom to the district and know what ``datetime`` can select."""
    bbox, span = records.extent(request.app.state.repo, rs, who)
    out: dict[str, Any] = {}
    if bbox is not None:
        out["spatial"] = {"bbox": [list(bbox)], "crs": CRS84}
    if span is not None:
        out["temporal"] = {"interval": [[rfc3339(span[0], end_of_day=False),
                                         rfc3339(span[1], end_of_day=True)]],
                           "trs": GREGORIAN}
    return out


def collection_doc(request: Request, collection_id: str, who: Principal) -> dict[str, Any]:
    rs = COLLECTIONS[collection_id]
    here = request.url_for("ogc_collection", collection_id=collection_id)
    items = request.url_for("ogc_items", collection_id=collection_id)
    return {
        "id": collection_id, "title": rs.title, "description": DESCRIPTIONS[collection_id],
        "itemType": "feature", "extent": extent(request, rs, who),
        "crs": [CRS84], "storageCrs": CRS84,
        "links": [link(here, "self", JSON, rs.title),
                  link(items, "items", GEOJSON, f"{rs.title} as GeoJSON")],
    }


def feature(rs: RecordSet, record: dict[str, Any]) -> dict[str, Any]:
    """A record as a GeoJSON feature: its key is the feature id, the rest properties."""
    properties = dict(record)
    geometry = properties.pop("geometry", None)
    key = properties.pop("id") if rs.key == "id" else properties[rs.key]
    return {"type": "Feature", "id": key, "geometry": geometry, "properties": properties}


def page_links(request: Request, collection_id: str, query: records.Query,
               more: bool) -> list[dict[str, str]]:
    """self, next when more follow and prev when some precede, each keeping the
    request's other parameters so a client can simply follow them."""
    links = [link(request.url, "self", GEOJSON, "this page"),
             link(request.url_for("ogc_collection", collection_id=collection_id),
                  "collection", JSON, "the collection")]
    if more:
        links.append(link(request.url.include_query_params(
            offset=query.offset + query.limit, limit=query.limit), "next", GEOJSON,
            "next page"))
    if query.offset > 0:
        links.append(link(request.url.include_query_params(
            offset=max(0, query.offset - query.limit), limit=query.limit), "prev", GEOJSON,
            "previous page"))
    return links


def now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


CRS_HEADER = {"Content-Crs": f"<{CRS84}>"}


# --- routes ---------------------------------------------------------------------------

Text = Annotated[str | None, Query()]


@router.get("", name="ogc_landing", summary="OGC API - Features landing page")
def landing(request: Request, who: Caller, f: Text = None) -> JSONResponse:
    """Where an OGC client starts: links to the API definition, conformance and data."""
    check_format(f)
    base = str(request.base_url).rstrip("/")
    return JSONResponse({
        "title": "demine OGC API - Features",
        "description": "Hazards, settlements, released land and findings of the mine "
                       "action record, read only.",
        "links": [
            link(request.url_for("ogc_landing"), "self", JSON, "this document"),
            link(request.url_for("ogc_api"), "service-desc", OAS30,
                 "the OGC API definition (OpenAPI 3.0)"),
            link(base + request.app.openapi_url, "service-desc", OAS31,
                 "the whole demine server (OpenAPI 3.1)"),
            link(request.url_for("ogc_conformance"), "conformance", JSON,
                 "conformance classes implemented"),
            link(request.url_for("ogc_collections"), "data", JSON, "the collections"),
        ],
    })


@router.get("/", include_in_schema=False)
def landing_slash(request: Request, who: Caller, f: Text = None) -> JSONResponse:
    """``/ogc/`` too: clients join paths onto the landing URL with a trailing slash, and
    a redirect would cost them a round trip or, for some, the answer."""
    return landing(request, who, f)


@router.get("/conformance", name="ogc_conformance", summary="Conformance classes")
def conformance(who: Caller, f: Text = None) -> JSONResponse:
    check_format(f)
    return JSONResponse({"conformsTo": list(CONFORMANCE)})


@router.get("/api", name="ogc_api", summary="The OGC API definition, OpenAPI 3.0",
            response_class=OpenAPI30Response)
def api_definition(request: Request, f: Text = None) -> OpenAPI30Response:
    """Public like ``/openapi.json``: an interface description, no data. In OpenAPI 3.0
    because the server-wide document is 3.1 and OGC clients expect 3.0."""
    check_format(f)
    return OpenAPI30Response(openapi_30(str(request.url_for("ogc_landing"))))


@router.get("/collections", name="ogc_collections", summary="The feature collections")
def collections(request: Request, who: Caller, f: Text = None) -> JSONResponse:
    check_format(f)
    return JSONResponse({
        "links": [link(request.url_for("ogc_collections"), "self", JSON, "this document")],
        "crs": [CRS84],
        "collections": [collection_doc(request, cid, who) for cid in COLLECTIONS],
    })


@router.get("/collections/{collection_id}", name="ogc_collection",
            summary="One feature collection")
def collection(collection_id: str, request: Request, who: Caller,
               f: Text = None) -> JSONResponse:
    collection_set(collection_id)
    check_format(f)
    return JSONResponse(collection_doc(request, collection_id, who))


@router.get("/collections/{collection_id}/items", name="ogc_items",
            summary="Features of a collection, as GeoJSON", response_class=GeoJSONResponse)
def items(collection_id: str, request: Request, who: Caller, bbox: Text = None,
          limit: Text = None, offset: Text = None,
          when: Annotated[str | None, Query(alias="datetime")] = None,
          crs: Text = None,
          bbox_crs: Annotated[str | None, Query(alias="bbox-crs")] = None,
          f: Text = None) -> GeoJSONResponse:
    """A page of features; the parameters are read from the query string as a whole so
    that unknown ones and bad values are a 400 naming them, as the standard requires."""
    rs = collection_set(collection_id)
    query = items_query(rs, request.query_params)
    stamp = now_stamp()
    page = records.list_records(request.app.state.repo, rs, query, who)
    features = [feature(rs, r) for r in page.items]
    return GeoJSONResponse({
        "type": "FeatureCollection", "timeStamp": stamp, "numberReturned": len(features),
        "features": features, "links": page_links(request, collection_id, query, page.more),
    }, headers=CRS_HEADER)


@router.get("/collections/{collection_id}/items/{feature_id}", name="ogc_feature",
            summary="One feature, as GeoJSON", response_class=GeoJSONResponse)
def one_feature(collection_id: str, feature_id: str, request: Request, who: Caller,
                f: Text = None, crs: Text = None) -> GeoJSONResponse:
    rs = collection_set(collection_id)
    given = single_values(request.query_params)
    for name in given:
        if name not in ("f", "crs"):
            raise bad_parameter(name, "unknown parameter; a feature takes f and crs")
    check_format(f)
    check_crs("crs", crs)
    body = feature(rs, records.get_record(request.app.state.repo, rs, feature_id, who))
    body["links"] = [
        link(request.url_for("ogc_feature", collection_id=collection_id,
                             feature_id=feature_id), "self", GEOJSON, "this feature"),
        link(request.url_for("ogc_collection", collection_id=collection_id), "collection",
             JSON, "the collection"),
    ]
    return GeoJSONResponse(body, headers=CRS_HEADER)


# --- the OpenAPI 3.0 definition -------------------------------------------------------

def _param(name: str, description: str, schema: dict[str, Any],
           where: str = "query") -> dict[str, Any]:
    out = {"name": name, "in": where, "description": description,
           "required": where == "path", "schema": schema}
    if where == "query":
        out.update(style="form", explode=False)
    return out


PARAMETERS = {
    "bbox": _param("bbox", "Features meeting this box: minx,miny,maxx,maxy in WGS 84 "
                   "degrees (six numbers: heights, ignored by 2D data)",
                   {"type": "array", "minItems": 4, "maxItems": 6,
                    "items": {"type": "number"}}),
    "bbox-crs": _param("bbox-crs", "CRS of bbox; only CRS84",
                       {"type": "string", "format": "uri", "enum": [CRS84]}),
    "crs": _param("crs", "CRS of the response geometries; only CRS84",
                  {"type": "string", "format": "uri", "enum": [CRS84]}),
    "datetime": _param("datetime", "An RFC 3339 instant or interval (start/end, '..' for "
                       "open), applied to the collection's date", {"type": "string"}),
    "limit": _param("limit", f"Features per page; above {MAX_LIMIT} the page has {MAX_LIMIT}",
                    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                     "default": DEFAULT_LIMIT}),
    "offset": _param("offset", "Features to skip (the next links carry it)",
                     {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}),
    "f": _param("f", "Encoding; only json", {"type": "string", "enum": ["json", "geojson"]}),
    "featureId": _param("featureId", "The feature's code, or number for outcomes and "
                        "findings", {"type": "string"}, where="path"),
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def _get(summary: str, media_type: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    responses = {"200": {"description": summary,
                         "content": {media_type: {"schema": {"type": "object"}}}}}
    for code, text in (("400", "a bad parameter, named"), ("401", "no or expired token"),
                       ("404", "no such collection or feature")):
        responses[code] = {"description": text,
                           "content": {JSON: {"schema": {"$ref": "#/components/schemas/"
                                                                 "exception"}}}}
    return {"get": {"summary": summary, "parameters": [_ref("f"), *parameters],
                    "responses": responses}}


def _collection_paths(cid: str, rs: RecordSet) -> dict[str, Any]:
    filters = [_param(prop, f"Only {rs.name} whose {prop} equals this", {"type": "string"})
               for prop in property_filters(rs)]
    item_params = [_ref(n) for n in ("bbox", "bbox-crs", "crs", "datetime", "limit",
                                     "offset")] + filters
    return {
        f"/collections/{cid}": _get(f"The {cid} collection", JSON, []),
        f"/collections/{cid}/items": _get(f"{rs.title}, as GeoJSON", GEOJSON, item_params),
        f"/collections/{cid}/items/{{featureId}}": _get(
            f"One of {rs.title}", GEOJSON, [_ref("featureId"), _ref("crs")]),
    }


def openapi_30(server_url: str) -> dict[str, Any]:
    """The OGC API's own definition, one path per collection so clients (GDAL among
    them) read each collection's parameters and page size."""
    paths = {"/": _get("Landing page", JSON, []), "/conformance": _get(
        "Conformance classes", JSON, []), "/api": _get("This definition", OAS30, []),
        "/collections": _get("The feature collections", JSON, [])}
    for cid, rs in COLLECTIONS.items():
        paths.update(_collection_paths(cid, rs))
    paths["/api"]["get"]["security"] = []
    return {
        "openapi": "3.0.3",
        "info": {"title": "demine OGC API - Features", "version": "1.0.0",
                 "description": "Read-only OGC API - Features over the mine action record. "
                                "Log in with POST /api/v1/auth/login and pass the token as "
                                "'Authorization: Bearer <token>'."},
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "parameters": PARAMETERS,
            "schemas": {"exception": {"type": "object", "required": ["detail"],
                                      "properties": {"detail": {"type": "string"}}}},
        },
    }
