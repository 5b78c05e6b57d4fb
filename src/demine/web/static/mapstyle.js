// The map's style, built here rather than fetched: a plain background and the server's
// four vector tile layers. No glyphs and no sprite, so no text or icon symbols: only
// fill, line and circle layers. The legend is drawn from the same tables.

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
];

/** Layers a click looks at, the first one found wins. */
export const CLICKABLE = ["settlements-circle", "findings-circle", "outcomes-fill",
  "hazards-fill", "hazards-line"];

function byValue(property, table) {
  const expression = ["match", ["get", property]];
  for (const [value, colour] of table) expression.push(value, colour);
  expression.push(OTHER);
  return expression;
}

function tiles(base, layer) {
  return {
    type: "vector",
    tiles: [`${base}tiles/${layer}/{z}/{x}/{y}.mvt`],
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
      hazards: tiles(base, "hazards"),
      outcomes: tiles(base, "outcomes"),
      settlements: tiles(base, "settlements"),
      findings: tiles(base, "findings"),
      selection: { type: "geojson", data: empty },
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
