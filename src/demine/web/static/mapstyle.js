// The map's style, built here rather than fetched: a plain background, the server's
// roads as the basemap, and its vector tile layers over them. Labels (settlement names,
// hazard codes, road names) are drawn with glyphs this server serves at /glyphs, made
// from a vendored font, and names in Arabic or Hebrew through the vendored RTL text
// plugin: nothing is asked of the internet. No sprite, so no icons. The legend is
// drawn from the same tables.

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

/** The basemap's roads: class, colour, width at zoom 14 in pixels, dashed, legend words. */
export const ROAD_CLASS = [
  ["primary", "#8a6d3b", 3.5, false, "Main road"],
  ["secondary", "#a8977a", 2.5, false, "Secondary road"],
  ["track", "#8c8c8c", 1.5, true, "Track"],
];

/** The label font: a fontstack the server has glyphs of (see demine.web.fontstacks). */
export const LABEL_FONT = ["DejaVu Sans Book"];
/** Label text: near-black on a white halo reads on every fill colour of the map. */
export const LABEL_COLOUR = "#1b1f23";
export const LABEL_HALO = "#ffffff";
/** Road names in the brown of the roads: told apart from settlement names at a glance. */
export const ROAD_LABEL_COLOUR = "#4d4030";
/**
 * Below this zoom the hazards tiles hold no areas but their summary, the layer
 * "hazard_cells" (demine.service.tiles.HAZARD_CELLS: the same zoom): one circle per
 * cell and status, sized by the number of hazards. Further out nearly every hazard is
 * under a pixel, and a country's 200,000 areas would draw as nothing, slowly.
 */
export const HAZARD_CELLS_MAXZOOM = 10;
/** Hazards counted in a cell -> circle radius in pixels (the area grows with the count). */
export const HAZARD_COUNT_RADIUS = [[1, 3], [10, 5], [100, 9], [1000, 14]];

/** Hazard codes are labelled from this zoom in: further out they would hide the map. */
export const HAZARD_LABEL_MINZOOM = 13;
/**
 * Settlement names from this zoom in (a province). Laying out a name costs the page:
 * with the national set's 30,000 settlements, names at national zoom took the map from
 * about 3 s to 13 s to idle on the software renderer, and four candidate anchors per
 * name (text-variable-anchor) doubled the time at district zoom, hence one anchor.
 */
export const SETTLEMENT_LABEL_MINZOOM = 9;
/**
 * Road names along the roads from this zoom in (a pixel of about 10-20 m): a name of
 * 20 letters then needs 2-3 km of road, about what a road between two villages is, and
 * further out the names of the whole network would only compete with settlement names.
 */
export const ROAD_LABEL_MINZOOM = 12;

/**
 * MapLibre's RTL text plugin (ICU bidi and Arabic shaping), vendored by
 * scripts/vendor-web and served by this server like the map library itself. Without it
 * MapLibre draws no label holding Arabic or Hebrew letters at all; with it, the letters
 * are put in reading order and joined. Relative to the page: the map resolves it
 * against the page's address for its workers, which import it themselves.
 */
export const RTL_TEXT_PLUGIN = "static/vendor/mapbox-gl-rtl-text/mapbox-gl-rtl-text.js";

/** Work in progress: hazards with an activity under way are outlined in this colour. */
export const IN_PROGRESS = "#7b3294";

const OTHER = "#888888";
const BACKGROUND = "#eceee8";

/** Population -> circle radius in pixels. */
export const POPULATION_RADIUS = [[0, 4], [500, 6], [2000, 9], [10000, 14]];

/** Layer switcher groups: one checkbox each, toggling these map layers. */
export const LAYER_GROUPS = [
  { id: "hazards", label: "Hazard areas",
    layers: ["hazard-cells", "hazards-fill", "hazards-line", "hazards-label"] },
  { id: "outcomes", label: "Land released", layers: ["outcomes-fill"] },
  { id: "settlements", label: "Settlements", layers: ["settlements-circle", "settlements-label"] },
  { id: "findings", label: "Explosive ordnance found", layers: ["findings-circle"] },
  { id: "activities", label: "Activities in progress", layers: ["activities-line"] },
  { id: "accidents", label: "Accidents", layers: ["accidents-circle"] },
  { id: "roads", label: "Roads", layers: ["roads-line", "roads-label"] },
];

/** The vector tile sources, refreshed after an approval. */
export const TILE_SOURCES = ["roads", "hazards", "outcomes", "settlements", "findings",
  "accidents"];

/**
 * Layers a click looks at, the first one found wins. The roads are the basemap: last,
 * so a click near a hazard or settlement beside a road still opens that record.
 */
export const CLICKABLE = ["settlements-circle", "accidents-circle", "findings-circle",
  "outcomes-fill", "hazards-fill", "hazards-line", "activities-line", "hazard-cells",
  "roads-line"];

function byValue(property, table) {
  const expression = ["match", ["get", property]];
  for (const [value, colour] of table) expression.push(value, colour);
  expression.push(OTHER);
  return expression;
}

function byRoadClass(column) {
  const expression = ["match", ["get", "road_class"]];
  for (const row of ROAD_CLASS) expression.push(row[0], row[column]);
  expression.push(ROAD_CLASS.at(-1)[column]);
  return expression;
}

/** The glyph URL MapLibre fills in ({fontstack}: the text-font names, {range}: "0-255"). */
export function glyphsUrl(base) {
  return `${base}glyphs/{fontstack}/{range}.pbf`;
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
    glyphs: glyphsUrl(base),
    sources: {
      ...Object.fromEntries(TILE_SOURCES.map((layer) => [layer, tiles(base, layer)])),
      selection: { type: "geojson", data: empty },
      review: { type: "geojson", data: empty },
    },
    layers: [
      { id: "background", type: "background", paint: { "background-color": BACKGROUND } },
      {
        // the basemap: under everything, so hazards and released land read over it
        id: "roads-line", type: "line", source: "roads", "source-layer": "roads",
        layout: { "line-join": "round", "line-cap": "round" },
        paint: {
          "line-color": byRoadClass(1),
          "line-width": ["interpolate", ["exponential", 1.5], ["zoom"],
            8, ["*", 0.4, byRoadClass(2)], 14, byRoadClass(2), 18, ["*", 3, byRoadClass(2)]],
          "line-dasharray": ["match", ["get", "road_class"],
            ROAD_CLASS.filter((row) => row[3]).map((row) => row[0]),
            ["literal", [2, 1.5]], ["literal", [1, 0]]],
        },
      },
      {
        id: "hazards-fill", type: "fill", source: "hazards", "source-layer": "hazards",
        minzoom: HAZARD_CELLS_MAXZOOM,
        paint: { "fill-color": byValue("status", HAZARD_STATUS), "fill-opacity": 0.45 },
      },
      {
        id: "outcomes-fill", type: "fill", source: "outcomes", "source-layer": "outcomes",
        paint: { "fill-color": byValue("method", OUTCOME_METHOD), "fill-opacity": 0.8 },
      },
      {
        // one layer for both classes: SHA dashed, CHA solid (dasharray by feature)
        id: "hazards-line", type: "line", source: "hazards", "source-layer": "hazards",
        minzoom: HAZARD_CELLS_MAXZOOM,
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
        minzoom: HAZARD_CELLS_MAXZOOM,
        filter: ["to-boolean", ["get", "in_progress"]],
        paint: {
          "line-color": IN_PROGRESS,
          "line-width": ["interpolate", ["linear"], ["zoom"], 8, 2, 14, 4],
          "line-offset": ["interpolate", ["linear"], ["zoom"], 8, 0, 14, -2],
        },
      },
      {
        // further out, the hazards counted per cell: where they are and how many
        id: "hazard-cells", type: "circle", source: "hazards", "source-layer": "hazard_cells",
        maxzoom: HAZARD_CELLS_MAXZOOM,
        // the smaller circle of a cell on top, so that no status hides another
        layout: { "circle-sort-key": ["-", 0, ["get", "count"]] },
        paint: {
          "circle-color": byValue("status", HAZARD_STATUS),
          "circle-opacity": 0.8,
          "circle-radius": ["interpolate", ["linear"], ["get", "count"],
            ...HAZARD_COUNT_RADIUS.flat()],
          "circle-stroke-color": "#ffffff",
          "circle-stroke-width": 1,
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
        // road names along their roads; first of the labels in this list, so the last
        // placed: settlement names and hazard codes win where they compete for room
        id: "roads-label", type: "symbol", source: "roads", "source-layer": "roads",
        minzoom: ROAD_LABEL_MINZOOM,
        filter: ["!=", ["coalesce", ["get", "name"], ""], ""],
        layout: {
          "symbol-placement": "line",
          "text-field": ["get", "name"],
          "text-font": LABEL_FONT,
          "text-size": ["interpolate", ["linear"], ["zoom"], ROAD_LABEL_MINZOOM, 11, 16, 14],
          // main roads named first where names compete; a bend sharper than this
          // breaks the name rather than writing it round a corner
          "symbol-sort-key": ["match", ["get", "road_class"],
            ...ROAD_CLASS.flatMap((row, rank) => [row[0], rank]), ROAD_CLASS.length],
          "text-max-angle": 30,
          "symbol-spacing": 400,
          "text-padding": 2,
        },
        paint: {
          "text-color": ROAD_LABEL_COLOUR,
          "text-halo-color": LABEL_HALO,
          "text-halo-width": 1.5,
        },
      },
      {
        // hazard codes, at the pole of each area, once the areas are large on screen
        id: "hazards-label", type: "symbol", source: "hazards", "source-layer": "hazards",
        minzoom: HAZARD_LABEL_MINZOOM,
        layout: {
          "text-field": ["get", "code"],
          "text-font": LABEL_FONT,
          "text-size": ["interpolate", ["linear"], ["zoom"], HAZARD_LABEL_MINZOOM, 11, 17, 13],
          "text-padding": 4,
        },
        paint: {
          "text-color": LABEL_COLOUR,
          "text-halo-color": LABEL_HALO,
          "text-halo-width": 1.5,
        },
      },
      {
        // settlement names beside their circles: the place a mine action officer knows
        id: "settlements-label", type: "symbol", source: "settlements",
        "source-layer": "settlements", minzoom: SETTLEMENT_LABEL_MINZOOM,
        layout: {
          "text-field": ["get", "name"],
          "text-font": LABEL_FONT,
          "text-size": ["interpolate", ["linear"], ["zoom"], SETTLEMENT_LABEL_MINZOOM, 11,
            14, 14],
          // to the right of the circle, clear of it whatever its size (offset in ems)
          "text-anchor": "left",
          "text-offset": ["interpolate", ["linear"], ["coalesce", ["get", "population"], 0],
            ...POPULATION_RADIUS.flatMap(([people, radius]) => [people,
              ["literal", [radius / 12 + 0.4, 0]]])],
          // closed settlements first, then the larger ones, when labels compete for room
          "symbol-sort-key": ["+", ["match", ["get", "status"], "closed", 0, 1e7],
            ["-", 1e6, ["min", 1e6, ["coalesce", ["get", "population"], 0]]]],
        },
        paint: {
          "text-color": LABEL_COLOUR,
          "text-halo-color": LABEL_HALO,
          "text-halo-width": 1.5,
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
