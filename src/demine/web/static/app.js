// The page: log in, then the operations map (hazards, land released, settlements and
// finds on a MapLibre map drawn from this server's vector tiles, with search and
// record details), the district dashboard, and reports filed and approved in the
// browser. MapLibre GL JS is the vendored script loaded before this module
// (window.maplibregl); terra-draw and Chart.js likewise.

import {
  ApiError, BASE, authHeaders, forget, login, logout, request, token, username,
} from "./api.js";
import {
  ACCIDENT_TYPE, CLICKABLE, FINDING_CATEGORY, HAZARD_CELLS_MAXZOOM, HAZARD_COUNT_RADIUS,
  HAZARD_STATUS, IN_PROGRESS, LAYER_GROUPS, OUTCOME_METHOD,
  POPULATION_RADIUS, ROAD_CLASS, RTL_TEXT_PLUGIN, SETTLEMENT_STATUS, TILE_SOURCES, buildStyle,
  tileUrl,
} from "./mapstyle.js";
import { closeDashboard, showDashboard } from "./dashboard.js";
import { Reports } from "./reports.js";
import { $, el, showMessage, shown, squareMetres, words } from "./ui.js";

const maplibregl = window.maplibregl;
const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

let map = null;
let settlements = null; // every settlement, loaded once for search
let settlementsLoading = null; // the load under way, shared by whoever asks first
let panelRequest = 0; // the newest record asked for; older answers are dropped
let focusBeforePanel = null; // where the keyboard was before the panel opened
let me = null; // the logged-in user: name, role, organisation, permissions
let reports = null;
let tileVersion = 0; // bumped after an approval, so the map fetches fresh tiles

// -- messages and views ---------------------------------------------------------------

function setView(view) {
  document.body.dataset.view = view;
  const inside = view !== "login" && view !== "loading";
  $("login").hidden = view !== "login";
  $("workspace").hidden = view !== "map";
  $("dashboard").hidden = view !== "dashboard";
  $("search-box").hidden = view !== "map";
  $("session").hidden = !inside;
  $("views").hidden = !inside;
  for (const name of ["map", "dashboard"]) {
    $(`view-${name}`).setAttribute("aria-pressed", String(view === name));
  }
  if (view !== "dashboard") closeDashboard();
  if (view === "map" && map) map.resize();
}

async function showView(view) {
  showMessage("");
  setView(view);
  if (view === "dashboard") {
    try {
      await showDashboard();
    } catch (err) {
      failed(err, "The dashboard could not be loaded");
    }
  }
}

function showLogin(message) {
  teardown();
  setView("login");
  if (message) showMessage(message);
  $("username").focus();
}

function teardown() {
  if (reports) reports.teardown();
  reports = null;
  me = null;
  closeDashboard();
  if (map) {
    map.remove();
    map = null;
    window.demineMap = undefined;
  }
  delete document.body.dataset.mapReady;
  settlements = null;
  settlementsLoading = null;
  closePanel();
  $("headline").textContent = "";
}

/** Errors of any request after login: an ended session goes back to the login form. */
function failed(err, doing) {
  if (err instanceof ApiError && err.status === 401) {
    forget();
    showLogin(`Your session has ended (${err.message}). Please log in again.`);
    return;
  }
  showMessage(doing ? `${doing}: ${err.message}` : err.message);
}

// -- login ----------------------------------------------------------------------------

async function onLogin(event) {
  event.preventDefault();
  const button = event.submitter || $("login-form").querySelector("button");
  button.disabled = true;
  showMessage("");
  try {
    await login($("username").value.trim(), $("password").value);
    $("password").value = "";
    enterMap();
  } catch (err) {
    showMessage(`Login failed: ${err.message}`);
    $("password").select();
  } finally {
    button.disabled = false;
  }
}

async function onLogout() {
  try {
    await logout();
  } catch {
    // the token is forgotten either way
  }
  showLogin();
  showMessage("You are logged out.", "info");
}

// -- the map --------------------------------------------------------------------------

async function enterMap() {
  try {
    me = await request("api/v1/auth/me");
  } catch (err) {
    failed(err, "Your account could not be read");
    return;
  }
  reports = new Reports({
    me,
    map: () => map,
    failed,
    showPanel,
    select: showSelection,
    showReview,
    focusMap,
    afterApproval: refreshAfterApproval,
  });
  setView("map");
  $("who").textContent = me.username;
  $("who").title = `Logged in as ${me.username}: ${words(me.role)}`
    + `${me.organisation ? ` for ${me.organisation}` : ""}`;
  loadHeadline();
  // the search list is every settlement (30,000 of them, 8 MB of JSON, nationally):
  // fetched when the search box is first used, not while the map draws
  createMap();
}

async function loadHeadline() {
  try {
    const data = await request("api/v1/indicators");
    const s = data.settlements;
    const people = s.population_total
      ? `${s.population_closed.toLocaleString()} of ${s.population_total.toLocaleString()}`
        + " people cut off"
      : "";
    $("headline").replaceChildren(
      el("span", { class: "main", text: `${s.closed} of ${s.total} settlements closed` }),
      people ? el("span", { class: "people", text: people }) : null);
  } catch (err) {
    failed(err, "The headline could not be loaded");
  }
}

/** The OGC extent of the hazard areas as [[w, s], [e, n]], or null when there is none. */
async function hazardExtent() {
  try {
    const collection = await request("ogc/collections/hazards");
    const box = collection?.extent?.spatial?.bbox?.[0];
    if (!box || (box.length !== 4 && box.length !== 6)) return null;
    const half = box.length / 2;
    return [[box[0], box[1]], [box[half], box[half + 1]]];
  } catch (err) {
    failed(err, "The extent of the hazard areas could not be read");
    return null;
  }
}

/**
 * Registers the RTL text plugin, deferred: MapLibre fetches it (133 kB, from this
 * server) only when a label in Arabic or Hebrew is first to be drawn, so a district
 * named in Latin letters never loads it. Once per page: MapLibre refuses a second
 * registration, and a map made after logging in again reuses the first one.
 */
function useRtlTextPlugin() {
  if (maplibregl.getRTLTextPluginStatus() !== "unavailable") return;
  const url = new URL(RTL_TEXT_PLUGIN, document.baseURI).href;
  maplibregl.setRTLTextPlugin(url, true).catch((err) => {
    showMessage(`Names in Arabic or Hebrew cannot be drawn: ${err.message || err}`);
  });
}

function transformRequest(url) {
  if (url.startsWith(BASE)) return { url, headers: authHeaders() };
  return { url };
}

async function createMap() {
  const bounds = await hazardExtent();
  if (!token() || document.body.dataset.view !== "map") return; // logged out meanwhile
  const options = {
    container: "map",
    style: buildStyle(BASE),
    transformRequest,
    attributionControl: false,
    maxZoom: 20,
    dragRotate: false,
    pitchWithRotate: false,
  };
  if (bounds) Object.assign(options, { bounds, fitBoundsOptions: { padding: 40 } });
  else Object.assign(options, { center: [0, 0], zoom: 1 });
  useRtlTextPlugin();
  map = new maplibregl.Map(options);
  window.demineMap = map;
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric", maxWidth: 120 }), "bottom-left");

  const thisMap = map;
  map.on("load", () => {
    applyLayerSwitches();
    thisMap.once("idle", () => {
      if (map === thisMap) document.body.dataset.mapReady = "1";
    });
  });
  map.on("error", onMapError);
  map.on("mousemove", (e) => {
    $("coords").textContent = `Lat ${e.lngLat.lat.toFixed(5)}, Lon ${e.lngLat.lng.toFixed(5)}`;
  });
  map.on("mouseout", () => { $("coords").textContent = ""; });
  map.on("click", onMapClick);
  for (const layer of CLICKABLE) {
    map.on("mouseenter", layer, () => { thisMap.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", layer, () => { thisMap.getCanvas().style.cursor = ""; });
  }
}

let lastTileError = "";

function onMapError(event) {
  const error = event.error || {};
  if (error.status === 401) {
    failed(new ApiError("the server no longer accepts the token", 401));
    return;
  }
  const text = error.status === 400
    ? "Part of the map is too detailed to draw at this zoom; zoom in."
    : `Part of the map could not be drawn: ${error.message || "unknown error"}`;
  if (text !== lastTileError) {
    lastTileError = text;
    showMessage(text);
  }
}

function onMapClick(event) {
  if (reports && reports.capturesClicks) return; // the click draws
  const { x, y } = event.point;
  const near = [[x - 4, y - 4], [x + 4, y + 4]];
  const found = map.queryRenderedFeatures(near, { layers: CLICKABLE });
  if (!found.length) return;
  found.sort((a, b) => CLICKABLE.indexOf(a.layer.id) - CLICKABLE.indexOf(b.layer.id));
  const feature = found[0];
  const props = feature.properties || {};
  if (reports && reports.form) {
    // while a report is written, a click on a hazard picks it for the report
    const hazard = found.find((f) => f.layer.id.startsWith("hazards-"));
    if (hazard) reports.pickHazard(hazard.properties.code);
    return;
  }
  switch (feature.layer.id) {
    case "hazard-cells": {
      // a count, not a record: zoom in to where its hazards are drawn as areas
      const camera = { center: feature.geometry.coordinates,
        zoom: Math.max(map.getZoom() + 2, HAZARD_CELLS_MAXZOOM) };
      if (reducedMotion) map.jumpTo(camera);
      else map.easeTo(camera);
      break;
    }
    case "settlements-circle":
      openRecord("settlements", props.code);
      break;
    case "findings-circle":
      openRecord("findings", String(feature.id));
      break;
    case "outcomes-fill":
      openRecord("hazards", props.hazard_code);
      break;
    case "accidents-circle":
      openRecord("accidents", props.code);
      break;
    case "roads-line":
      showRoad(feature);
      break;
    default:
      openRecord("hazards", props.code);
  }
}

// -- layer switcher and legend --------------------------------------------------------

function buildSidebar() {
  const layers = $("layers");
  for (const group of LAYER_GROUPS) {
    const box = el("input", { type: "checkbox", id: `layer-${group.id}`, checked: true });
    box.dataset.layers = group.layers.join(" ");
    box.addEventListener("change", applyLayerSwitches);
    layers.append(el("div", { class: "switch" }, box,
      el("label", { htmlFor: box.id, text: group.label })));
  }

  const legend = $("legend");
  const section = (title, rows) => {
    const list = el("ul", { class: "legend-list" });
    for (const [swatch, words] of rows) {
      list.append(el("li", {}, swatch, el("span", { text: words })));
    }
    legend.append(el("h3", { text: title }), list);
  };
  const swatch = (kind, colour) => {
    const node = el("span", { class: `swatch ${kind}` });
    node.setAttribute("aria-hidden", "true");
    if (colour) node.style.setProperty("--colour", colour);
    return node;
  };
  section("Hazard areas", [
    ...HAZARD_STATUS.map(([, colour, words]) => [swatch("fill", colour), words]),
    [swatch("outline dashed"), "Suspected (SHA): dashed outline"],
    [swatch("outline solid"), "Confirmed (CHA): solid outline"],
    [swatch("dot sizes"), `Zoomed out: hazards of one status nearby, counted; size: their `
      + `number (${HAZARD_COUNT_RADIUS[0][0]} to ${HAZARD_COUNT_RADIUS.at(-1)[0].toLocaleString()}+)`],
  ]);
  section("Land released", OUTCOME_METHOD.map(([, colour, words]) => [
    swatch("fill solid-fill", colour), words]));
  section("Settlements", [
    ...SETTLEMENT_STATUS.map(([, colour, words]) => [swatch("dot", colour), words]),
    [swatch("dot sizes"), `Size: population (${POPULATION_RADIUS[0][0]} to `
      + `${POPULATION_RADIUS.at(-1)[0].toLocaleString()}+)`],
  ]);
  section("Explosive ordnance found", FINDING_CATEGORY.map(([, colour, words]) => [
    swatch("dot small", colour), words]));
  section("Work and accidents", [
    [swatch("outline solid work", IN_PROGRESS), "Activity in progress (outline)"],
    ...ACCIDENT_TYPE.map(([, colour, words]) => [swatch("dot ring", colour), words]),
  ]);
  section("Roads", ROAD_CLASS.map(([, colour, width, dashed, words]) => {
    const line = swatch(dashed ? "line dashed" : "line", colour);
    line.style.setProperty("--width", `${width}px`);
    return [line, words];
  }));
}

function applyLayerSwitches() {
  if (!map || !map.isStyleLoaded()) return;
  for (const box of $("layers").querySelectorAll("input[type=checkbox]")) {
    for (const layer of box.dataset.layers.split(" ")) {
      map.setLayoutProperty(layer, "visibility", box.checked ? "visible" : "none");
    }
  }
}

// -- search ---------------------------------------------------------------------------

/** The settlements for search, loaded at the first use of the search box. */
function searchList() {
  if (settlements) return Promise.resolve(settlements);
  if (!settlementsLoading) {
    const loading = loadSettlements();
    settlementsLoading = loading;
    // a failed load is tried again at the next use; a stale one is simply dropped
    loading.catch(() => {}).finally(() => {
      if (settlementsLoading === loading) settlementsLoading = null;
    });
  }
  return settlementsLoading;
}

async function loadSettlements() {
  const items = [];
  for (let offset = 0; ; ) {
    const page = await request(`api/v1/settlements?limit=1000&offset=${offset}`);
    items.push(...page.items);
    offset += page.items.length;
    if (!page.next || !page.items.length) break;
  }
  items.sort((a, b) => String(a.name).localeCompare(String(b.name)));
  settlements = items;
  const names = $("search-names");
  names.replaceChildren(...items.map((s) => el("option", { value: s.name, text: s.code })));
  return items;
}

function hazardCode(text) {
  const m = /^HA-?(\d+)$/i.exec(text);
  return m ? `HA-${m[1].padStart(6, "0")}` : null;
}

async function onSearch(event) {
  event.preventDefault();
  const query = $("search-input").value.trim();
  showResults([]);
  if (!query) return;
  showMessage("");
  try {
    const code = hazardCode(query);
    if (code) {
      await goToHazard(code);
      return;
    }
    const all = await searchList();
    const lower = query.toLowerCase();
    const exact = all.filter((s) => s.code.toLowerCase() === lower
      || String(s.name).toLowerCase() === lower);
    const matches = exact.length ? exact
      : all.filter((s) => String(s.name).toLowerCase().includes(lower)
        || s.code.toLowerCase().includes(lower));
    if (matches.length === 1) {
      goToSettlement(matches[0]);
    } else if (matches.length > 1) {
      showResults(matches.slice(0, 20));
    } else if (/^[a-z]+-\d+$/i.test(query)) {
      await goToHazard(query.toUpperCase());
    } else {
      showMessage(`No settlement or hazard matches "${query}".`, "info");
    }
  } catch (err) {
    failed(err, `Search for "${query}"`);
  }
}

function showResults(items) {
  const list = $("search-results");
  list.replaceChildren(...items.map((s) => {
    const button = el("button", { type: "button", text: `${s.name} (${s.code}), ${s.status}` });
    button.addEventListener("click", () => {
      showResults([]);
      goToSettlement(s);
    });
    return el("li", {}, button);
  }));
  list.hidden = !items.length;
  if (items.length) list.querySelector("button").focus();
}

/** Room around a place moved to, keeping it clear of the record panel. */
function padding(around) {
  const panel = $("panel");
  const covered = panel.hidden ? 0 : panel.offsetWidth;
  const mapWidth = map.getContainer().offsetWidth;
  const right = covered < mapWidth - 2 * around ? covered + around : around;
  return { top: around, bottom: around, left: around, right };
}

function goToSettlement(settlement) {
  openRecord("settlements", settlement.code);
  const point = settlement.geometry?.coordinates;
  if (!point || !map) return;
  const camera = { center: point, zoom: Math.max(map.getZoom(), 14), padding: padding(0) };
  if (reducedMotion) map.jumpTo(camera);
  else map.flyTo(camera);
}

async function goToHazard(code) {
  const hazard = await request(`api/v1/hazards/${encodeURIComponent(code)}`);
  openRecord("hazards", hazard.code, hazard);
  const box = bounds(hazard.geometry);
  if (box && map) {
    map.fitBounds(box, { padding: padding(60), maxZoom: 17, animate: !reducedMotion });
  }
}

function bounds(geometry) {
  if (!geometry) return null;
  let w = Infinity; let s = Infinity; let e = -Infinity; let n = -Infinity;
  const walk = (c) => {
    if (typeof c[0] === "number") {
      w = Math.min(w, c[0]); e = Math.max(e, c[0]);
      s = Math.min(s, c[1]); n = Math.max(n, c[1]);
    } else {
      for (const part of c) walk(part);
    }
  };
  walk(geometry.coordinates || []);
  return Number.isFinite(w) ? [[w, s], [e, n]] : null;
}

// -- the record panel -----------------------------------------------------------------

const KIND_TITLE = {
  hazards: "Hazard area", settlements: "Settlement", findings: "Finding", accidents: "Accident",
};

/** Opens the side panel with `title` and `children`; returns the panel's ticket. */
function showPanel(title, children) {
  const ticket = ++panelRequest;
  const panel = $("panel");
  if (panel.hidden) focusBeforePanel = document.activeElement;
  panel.hidden = false;
  $("panel-title").textContent = title;
  $("panel-body").replaceChildren(...children.filter((c) => c != null));
  $("panel-title").focus();
  return ticket;
}

async function openRecord(kind, key, known) {
  if (key === undefined || key === null || key === "") return;
  if (reports) reports.teardownForm();
  const ticket = showPanel(`${KIND_TITLE[kind]} ${key}`, [el("p", { text: "Loading…" })]);
  const path = `api/v1/${kind}/${encodeURIComponent(key)}`;
  try {
    const [record, history, blockers] = await Promise.all([
      known ? Promise.resolve(known) : request(path),
      request(`${path}/history`).catch((err) => err),
      kind === "settlements" ? request(`${path}/blockers`).catch((err) => err) : null,
    ]);
    if (ticket !== panelRequest) return;
    showSelection(record.geometry);
    renderRecord(kind, key, record, history, blockers);
  } catch (err) {
    if (ticket !== panelRequest) return;
    if (err instanceof ApiError && err.status === 401) {
      failed(err);
      return;
    }
    $("panel-body").replaceChildren(el("p", { class: "error", text: err.message }));
  }
}

/** Every piece of road `code` in the roads tiles loaded: the whole road, highlighted. */
function roadGeometry(code, clicked) {
  const lines = [];
  for (const piece of map.querySourceFeatures("roads", { sourceLayer: "roads",
    filter: ["==", ["get", "code"], code] })) {
    const g = piece.geometry;
    if (g.type === "LineString") lines.push(g.coordinates);
    else if (g.type === "MultiLineString") lines.push(...g.coordinates);
  }
  return lines.length ? { type: "MultiLineString", coordinates: lines } : clicked.geometry;
}

/**
 * A road clicked on. The API has no road records (roads are the basemap's reference
 * data, loaded with the district; no route reads or edits them), so the panel says what
 * the map's tile holds about the road (name, code, class), in words, and that it is not
 * a record with a history.
 */
function showRoad(feature) {
  if (reports) reports.teardownForm();
  const props = feature.properties || {};
  const road = ROAD_CLASS.find((row) => row[0] === props.road_class);
  const title = `Road ${props.code || ""}${props.name ? `: ${props.name}` : ""}`;
  const fields = el("dl", { class: "fields" });
  for (const [field, value] of [["name", props.name], ["code", props.code],
    ["class", road ? road[4] : words(props.road_class ?? "")]]) {
    fields.append(el("dt", { text: words(field) }), el("dd", { text: shown(field, value) }));
  }
  showPanel(title, [
    props.synthetic ? el("p", { class: "note", text: "Synthetic exercise data, not a real record." })
      : null,
    fields,
    el("p", { class: "note", text: "Roads are the map's basemap: this is what the map "
      + "holds about the road, not a record with a history." }),
  ]);
  showSelection(roadGeometry(props.code, feature));
}

function closePanel() {
  panelRequest += 1;
  if (reports) reports.teardownForm();
  showReview([]);
  const wasOpen = !$("panel").hidden;
  $("panel").hidden = true;
  showSelection(null);
  if (wasOpen && focusBeforePanel && document.contains(focusBeforePanel)) {
    focusBeforePanel.focus();
  }
  focusBeforePanel = null;
}

/** What a report under review proposes, drawn on the map beside the record. */
function showReview(features) {
  const source = map && map.getSource("review");
  if (!source) return;
  source.setData({ type: "FeatureCollection", features: features.filter((f) => f.geometry) });
}

/** Moves the map to show every geometry given, clear of the side panel. */
function focusMap(geometries) {
  if (!map) return;
  const boxes = geometries.map(bounds).filter(Boolean);
  if (!boxes.length) return;
  const box = boxes.reduce((a, b) => [[Math.min(a[0][0], b[0][0]), Math.min(a[0][1], b[0][1])],
    [Math.max(a[1][0], b[1][0]), Math.max(a[1][1], b[1][1])]]);
  map.fitBounds(box, { padding: padding(60), maxZoom: 17, animate: !reducedMotion });
}

/** After an approval the record changed: fresh tiles, headline and search list. */
async function refreshAfterApproval() {
  tileVersion += 1;
  if (map) {
    for (const name of TILE_SOURCES) {
      const source = map.getSource(name);
      if (source && source.setTiles) source.setTiles([tileUrl(BASE, name, tileVersion)]);
    }
  }
  // names and statuses changed: a search list already loaded is loaded again
  const reload = settlements || settlementsLoading
    ? loadSettlements().catch((err) => failed(err, "Settlements could not be reloaded"))
    : null;
  await Promise.all([loadHeadline(), reload]);
}

function showSelection(geometry) {
  const source = map && map.getSource("selection");
  if (!source) return;
  source.setData({
    type: "FeatureCollection",
    features: geometry ? [{ type: "Feature", geometry, properties: {} }] : [],
  });
}

function renderBlockers(answer) {
  if (answer instanceof Error) {
    return [el("p", { class: "error", text: `Blocking hazards not available: ${answer.message}` })];
  }
  if (!answer.blockers.length) {
    return [el("p", { class: "open-now", text: "Open: no hazard area keeps it closed." })];
  }
  const list = el("ul", { class: "blockers" });
  for (const b of answer.blockers) {
    const go = el("button", { type: "button", class: "link", text: b.hazard_code });
    go.addEventListener("click", () => goToHazard(b.hazard_code).catch(
      (err) => failed(err, `Hazard ${b.hazard_code}`)));
    list.append(el("li", {}, go, el("span", {
      text: ` ${b.classification}, ${words(b.status)}: ${squareMetres(b.remaining_m2)} remaining`
        + `${b.eo_categories.length ? ` (${b.eo_categories.map(words).join(", ")})` : ""}` })));
  }
  return [el("p", { class: "closed-now",
    text: `Closed by ${answer.blockers.length} hazard area${answer.blockers.length > 1 ? "s" : ""}:` }),
  list];
}

function renderRecord(kind, key, record, history, blockers) {
  const name = record.name ? `: ${record.name}` : "";
  $("panel-title").textContent = `${KIND_TITLE[kind]} ${record.code || key}${name}`;
  const body = [];
  if (record.synthetic) {
    body.push(el("p", { class: "note", text: "Synthetic exercise data, not a real record." }));
  }
  if (blockers) body.push(el("h3", { text: "What keeps it closed" }), ...renderBlockers(blockers));
  const fields = el("dl", { class: "fields" });
  for (const [field, value] of Object.entries(record)) {
    if (field === "geometry" || field === "synthetic" || field === "blocking_hazards") continue;
    fields.append(el("dt", { text: words(field) }), el("dd", { text: shown(field, value) }));
  }
  body.push(fields, el("h3", { text: "History" }));
  if (history instanceof Error) {
    body.push(el("p", { class: "error", text: `History not available: ${history.message}` }));
  } else {
    body.push(renderHistory(history.items || []));
  }
  $("panel-body").replaceChildren(...body);
}

function renderHistory(items) {
  if (!items.length) return el("p", { text: "No recorded changes." });
  const list = el("ol", { class: "history" });
  for (const item of items.slice().reverse()) {
    const when = String(item.at || "").replace("T", " ").slice(0, 16);
    const entry = el("li", {},
      el("p", { class: "when", text: `${when}: ${item.action} by ${item.author}` }));
    if (item.reason) entry.append(el("p", { class: "why", text: item.reason }));
    const changes = Object.entries(item.changed || {});
    if (changes.length && item.action !== "create") {
      const changed = el("ul", { class: "changes" });
      for (const [field, diff] of changes) {
        const before = shown(field, diff?.before);
        const after = shown(field, diff?.after);
        const text = before.length + after.length < 80
          ? `${words(field)}: ${before} → ${after}`
          : `${words(field)} changed`;
        changed.append(el("li", { text }));
      }
      entry.append(changed);
    }
    list.append(entry);
  }
  return list;
}

// -- start ----------------------------------------------------------------------------

async function start() {
  buildSidebar();
  $("login-form").addEventListener("submit", onLogin);
  $("logout").addEventListener("click", onLogout);
  $("search").addEventListener("submit", onSearch);
  $("search-input").addEventListener("focus", () => {
    searchList().catch((err) => failed(err, "Settlements could not be loaded for search"));
  });
  $("panel-close").addEventListener("click", closePanel);
  $("view-map").addEventListener("click", () => showView("map"));
  $("view-dashboard").addEventListener("click", () => showView("dashboard"));
  $("view-reports").addEventListener("click", async () => {
    await showView("map");
    if (reports) await reports.open();
  });
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    if (!$("search-results").hidden) showResults([]);
    else if (!$("panel").hidden) closePanel();
  });
  if (!maplibregl) {
    showMessage("The map library did not load; the page cannot show the map.");
    return;
  }
  if (token()) {
    try {
      await request("api/v1/auth/me");
      enterMap();
      return;
    } catch (err) {
      forget();
      if (!(err instanceof ApiError && err.status === 401)) showMessage(err.message);
    }
  }
  showLogin();
}

start();
