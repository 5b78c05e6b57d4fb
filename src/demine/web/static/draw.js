// Drawing on the map with terra-draw (vendored; window.terraDraw and its MapLibre
// adapter): the polygon a team worked, edited vertex by vertex, and the points where
// items were found. The report form reads the result as GeoJSON geometries.

const { TerraDraw, TerraDrawPolygonMode, TerraDrawPointMode, TerraDrawSelectMode,
  TerraDrawRenderMode } = window.terraDraw || {};
const { TerraDrawMapLibreGLAdapter } = window.terraDrawMaplibreGlAdapter || {};

export const drawingAvailable = () => Boolean(TerraDraw && TerraDrawMapLibreGLAdapter);

const EDITABLE = {
  feature: {
    draggable: true,
    coordinates: { midpoints: true, draggable: true, deletable: true },
  },
};

export class Drawing {
  /** Starts drawing on `map` (once its style is loaded); `onChange` runs after edits. */
  constructor(map, onChange) {
    this.draw = new TerraDraw({
      adapter: new TerraDrawMapLibreGLAdapter({ map }),
      modes: [
        new TerraDrawPolygonMode({
          styles: { fillColor: "#1f78b4", fillOpacity: 0.25, outlineColor: "#0b3c6e",
            outlineWidth: 3 },
        }),
        new TerraDrawPointMode({
          styles: { pointColor: "#ffd92f", pointOutlineColor: "#111111", pointWidth: 7 },
        }),
        new TerraDrawSelectMode({ flags: { polygon: EDITABLE, point: { feature: { draggable: true } } } }),
        new TerraDrawRenderMode({ modeName: "static", styles: {} }),
      ],
    });
    this.draw.start();
    // terra-draw edits outer edges only: the holes of a loaded outline are kept here, by
    // feature id, and put back when the polygon is read (a hole the edited edge no
    // longer surrounds makes the polygon invalid, which the server then says)
    this.holes = new Map();
    this.draw.setMode("static");
    this.onChange = onChange;
    this.draw.on("finish", () => {
      // one worked polygon at a time: a finished polygon returns to editing
      if (this.draw.getMode() === "polygon") this.draw.setMode("select");
      this.onChange();
    });
    this.draw.on("change", (ids, type) => {
      if (type === "delete" || type === "update") this.onChange();
    });
  }

  mode(name) {
    this.draw.setMode(name);
  }

  get currentMode() {
    return this.draw.getMode();
  }

  /** Replaces the drawn polygons with `geometry` (a Polygon or MultiPolygon) to edit. */
  loadPolygon(geometry) {
    this.removeKind("Polygon");
    const parts = geometry.type === "MultiPolygon" ? geometry.coordinates : [geometry.coordinates];
    const features = parts.map((rings) => {
      const id = this.draw.getFeatureId();
      if (rings.length > 1) this.holes.set(id, rings.slice(1));
      return {
        id,
        type: "Feature",
        geometry: { type: "Polygon", coordinates: [rings[0]] },
        properties: { mode: "polygon" },
      };
    });
    const results = this.draw.addFeatures(features);
    const refused = results.filter((r) => !r.valid);
    if (refused.length) {
      throw new Error(`the outline cannot be edited here: ${refused[0].reason || "invalid shape"}`);
    }
    this.draw.setMode("select");
    this.onChange();
  }

  removeKind(type) {
    const ids = this.draw.getSnapshot().filter((f) => f.geometry.type === type).map((f) => f.id);
    if (ids.length) this.draw.removeFeatures(ids);
    if (type === "Polygon") this.holes.clear();
  }

  /** The drawn polygons as one geometry, or null when none is drawn. */
  polygon() {
    const polygons = this.draw.getSnapshot().filter((f) => f.geometry.type === "Polygon"
      && f.geometry.coordinates[0].length >= 4);
    if (!polygons.length) return null;
    const rings = polygons.map((f) => [f.geometry.coordinates[0], ...(this.holes.get(f.id) || [])]);
    if (rings.length === 1) return { type: "Polygon", coordinates: rings[0] };
    return { type: "MultiPolygon", coordinates: rings };
  }

  /** The drawn points, each with its terra-draw id, in the order they were placed. */
  points() {
    return this.draw.getSnapshot().filter((f) => f.geometry.type === "Point")
      .map((f) => ({ id: f.id, geometry: f.geometry }));
  }

  removePoint(id) {
    this.draw.removeFeatures([id]);
  }

  clear() {
    this.draw.clear();
    this.holes.clear();
    this.draw.setMode("static");
  }

  stop() {
    this.draw.stop();
  }
}
