// The map's style, built here rather than fetched: a plain background and the server's
// vector tile layers. No glyphs and no sprite, so no text or icon symbols: only fill,
// line and circle layers. The legend is drawn from the same tables.

export const HAZARD_STATUS = [
  ["open", "#d7191c", "Open"],
  ["worked_on", "#fdae61", "Being worked on"],
  ["released", "#1a9641", "Released"],
];

export const OUTCOME_METHOD = [
  ["cancelled", "#a1dab4", "Cancelled (non-technical survey)"],
  ["reduced", "#41b6c4", "Reduced (technical survey)"],
  ["cleared", "#225ea8", "Cleared"],
];

export const SETTLEMENT_STATUS = [
  ["closed", "#d7191c", "Closed"],
  ["open", "#1a9641", "Open"],
];

export const FINDING_CATEGORY = [
  ["ap_mine", "#6a3d9a", "Anti-personnel mine"],
  ["at_mine", "#b15928", "Anti-tank mine"],
  ["cluster_munition", "#ff7f00", "Cluster munition"],
  ["uxo", "#1f78b4", "Unexploded ordnance"],
  ["axo", "#33a02c", "Abandoned ordnance"],
  ["booby_trap", "#e7298a", "Booby trap"],
  ["ied", "#000000", "Improvised explosive device"],
];

export const ACCIDENT_TYPE = [
  ["demining", "#000000", "Demining accident"],
  ["mine_erw", "#e31a1c", "Mine/ERW accident (civilians)"],
];

/** Work in progress: hazards with an activity under way are outlined in this colour. */
export const IN_PROGRESS = "#7b3294";

const OTHER = "#888888";
const BACKGROUND = "#eceee8";

/** Population -> circle radius in pixels. */
export const POPULATION_RADIUS = [[0, 4], [500, 6], [2000, 9], [10000, 14]];

/** Layer switcher groups: one checkbox each, toggling these map layers. */
export const LAYER_GROUPS = [
  { id: "hazards", label: "Hazard areas", layers: ["hazards-fill", "hazards-line"] },
  { id: "outcomes", label: "Land released", layers: ["outcomes-fill"] },
  { id: "settlements", label: "Settlements", layers: ["settlements-circle"] },
  { id: "findings", label: "Explosive ordnance found", layers: ["findings-circle"] },
  { id: "activities", label: "Activities in progress", layers: ["activities-line"] },
  { id: "accidents", label: "Accidents", layers: ["accidents-circle"] },
];

/** The vector tile sources, refreshed after an approval. */
export const TILE_SOURCES = ["hazards", "outcomes", "settlements", "findings", "accidents"];

/** Layers a click looks at, the first one found wins. */
export const CLICKABLE = ["settlements-circle", "accidents-circle", "findings-circle",
  "outcomes-fill", "hazards-fill", "hazards-line", "activities-line"];

function byValue(property, table) {
  const expression = ["match", ["get", property]];
  for (const [value, colour] of table) expression.push(value, colour);
  expression.push(OTHER);
  return expression;
}

/** A layer's tile URL; `version` changes it after the record changed (browser cache). */
export function tileUrl(base, layer, version = 0) {
  return `${base}tiles/${layer}/{z}/{x}/{y}.mvt${version ? `?v=${version}` : ""}`;
}

function tiles(base, layer) {
  return {
    type: "vector",
    tiles: [tileUrl(base, layer)],
    minzoom: 0,
    // beyond 16 the z16 tiles are drawn larger: they hold sub-metre detail already
    maxzoom: 16,
  };
}

/** The style object for a server whose page is at `base` (ending in "/"). */
export function buildStyle(base) {
  const empty = { type: "FeatureCollection", features: [] };
  return {
    version: 8,
    name: "demine operations",
    sources: {
      ...Object.fromEntries(TILE_SOURCES.map((layer) => [layer, tiles(base, layer)])),
      selection: { type: "geojson", data: empty },
      review: { type: "geojson", data: empty },
    },
    layers: [
      { id: "background", type: "background", paint: { "background-color": BACKGROUND } },
      {
        id: "hazards-fill", type: "fill", source: "hazards", "source-layer": "hazards",
        paint: { "fill-color": byValue("status", HAZARD_STATUS), "fill-opacity": 0.45 },
      },
      {
        id: "outcomes-fill", type: "fill", source: "outcomes", "source-layer": "outcomes",
        paint: { "fill-color": byValue("method", OUTCOME_METHOD), "fill-opacity": 0.8 },
      },
      {
        // one layer for both classes: SHA dashed, CHA solid (dasharray by feature)
        id: "hazards-line", type: "line", source: "hazards", "source-layer": "hazards",
        layout: { "line-join": "round" },
        paint: {
          "line-color": byValue("status", HAZARD_STATUS),
          "line-width": ["interpolate", ["linear"], ["zoom"], 8, 1, 14, 2],
          "line-dasharray": ["match", ["get", "classification"],
            "SHA", ["literal", [3, 2]], ["literal", [1, 0]]],
        },
      },
      {
        id: "activities-line", type: "line", source: "hazards", "source-layer": "hazards",
        filter: ["to-boolean", ["get", "in_progress"]],
        paint: {
          "line-color": IN_PROGRESS,
          "line-width": ["interpolate", ["linear"], ["zoom"], 8, 2, 14, 4],
          "line-offset": ["interpolate", ["linear"], ["zoom"], 8, 0, 14, -2],
        },
      },
      {
        id: "findings-circle", type: "circle", source: "findings", "source-layer": "findings",
        paint: {
          "circle-color": byValue("eo_category", FINDING_CATEGORY),
          "circle-radius": ["interpolate", ["linear"], ["zoom"], 10, 2.5, 16, 5],
          "circle-stroke-color": "#ffffff",
          "circle-stroke-width": 1,
        },
      },
      {
        id: "settlements-circle", type: "circle", source: "settlements",
        "source-layer": "settlements",
        paint: {
          "circle-color": byValue("status", SETTLEMENT_STATUS),
          "circle-radius": ["interpolate", ["linear"], ["coalesce", ["get", "population"], 0],
            ...POPULATION_RADIUS.flat()],
          "circle-stroke-color": "#ffffff",
          "circle-stroke-width": 1.5,
        },
      },
      {
        id: "accidents-circle", type: "circle", source: "accidents", "source-layer": "accidents",
        paint: {
          "circle-color": "#ffffff",
          "circle-radius": ["interpolate", ["linear"], ["zoom"], 8, 4, 16, 8],
          "circle-stroke-color": byValue("type", ACCIDENT_TYPE),
          "circle-stroke-width": 3,
        },
      },
      {
        id: "review-fill", type: "fill", source: "review",
        filter: ["==", ["geometry-type"], "Polygon"],
        paint: { "fill-color": "#1f78b4", "fill-opacity": 0.35 },
      },
      {
        id: "review-line", type: "line", source: "review",
        filter: ["==", ["geometry-type"], "Polygon"],
        paint: { "line-color": "#0b3c6e", "line-width": 3, "line-dasharray": [2, 1] },
      },
      {
        id: "review-points", type: "circle", source: "review",
        filter: ["==", ["geometry-type"], "Point"],
        paint: { "circle-radius": 7, "circle-color": "#ffd92f", "circle-stroke-color": "#111111",
          "circle-stroke-width": 2 },
      },
      {
        id: "selection-line", type: "line", source: "selection",
        filter: ["!=", ["geometry-type"], "Point"],
        paint: { "line-color": "#111111", "line-width": 3 },
      },
      {
        id: "selection-circle", type: "circle", source: "selection",
        filter: ["==", ["geometry-type"], "Point"],
        paint: {
          "circle-radius": 16, "circle-color": "rgba(0,0,0,0)",
          "circle-stroke-color": "#111111", "circle-stroke-width": 3,
        },
      },
    ],
  };
}
