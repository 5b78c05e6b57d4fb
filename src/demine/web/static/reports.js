// Reports in the browser: an operator files what a team did (the worked polygon drawn
// on the map, the hazard area, outcome, finds and the date of information) as a draft
// and submits it; an information manager reviews each submitted report on the map,
// beside the current record, and approves or rejects it with a reason. Nothing here
// changes the official record directly: only an approval on the server does.

import { ApiError, request } from "./api.js";
import { Drawing, drawingAvailable } from "./draw.js";
import { FINDING_CATEGORY } from "./mapstyle.js";
import { $, el, showMessage, squareMetres, today, words } from "./ui.js";

/** What each kind of work releases, in the words of the land release process. */
const WORK = [
  ["clearance", "Clearance", "cleared"],
  ["ts", "Technical survey", "reduced"],
  ["nts", "Non-technical survey", "cancelled"],
];
const STATUS = [["completed", "Completed"], ["in_progress", "In progress (daily progress)"]];
const DISPOSAL = [["destroyed_in_situ", "Destroyed in situ"], ["removed", "Removed"],
  ["rendered_safe", "Rendered safe"]];
const REPORT_STATUS = {
  draft: "Draft (not yet sent)", submitted: "Waiting for approval",
  approved: "Approved", rejected: "Rejected",
};

function select(id, options, value) {
  const node = el("select", { id, name: id });
  for (const [v, label] of options) node.append(el("option", { value: v, text: label }));
  if (value !== undefined) node.value = value;
  return node;
}

function field(label, control, hint) {
  const wrap = el("div", { class: "field" }, el("label", { htmlFor: control.id, text: label }),
    control);
  if (hint) {
    const id = `${control.id}-hint`;
    control.setAttribute("aria-describedby", id);
    wrap.append(el("p", { class: "hint", id, text: hint }));
  }
  return wrap;
}

function ringArea(ring) {
  // spherical excess is overkill at a worksite: an equirectangular projection at the
  // ring's latitude is within a fraction of a percent for areas of a few km
  const lat = ring.reduce((sum, c) => sum + c[1], 0) / ring.length;
  const kx = 111320 * Math.cos((lat * Math.PI) / 180);
  const ky = 110540;
  let twice = 0;
  for (let i = 0; i < ring.length - 1; i += 1) {
    twice += ring[i][0] * kx * ring[i + 1][1] * ky - ring[i + 1][0] * kx * ring[i][1] * ky;
  }
  return Math.abs(twice) / 2;
}

/** Approximate area in m² of a Polygon or MultiPolygon, for the form's feedback only. */
export function approximateArea(geometry) {
  if (!geometry) return 0;
  const polygons = geometry.type === "MultiPolygon" ? geometry.coordinates : [geometry.coordinates];
  return polygons.reduce((sum, rings) => sum + ringArea(rings[0])
    - rings.slice(1).reduce((holes, r) => holes + ringArea(r), 0), 0);
}

export class Reports {
  /**
   * @param {object} ctx what the page lends: map(), me (the /auth/me answer),
   *   failed(err, doing), focusMap(geometries), showReview(features), afterApproval(result)
   */
  constructor(ctx) {
    this.ctx = ctx;
    this.drawing = null;
    this.form = null; // the report being written: {hazard, activityCode, ...}
    this.reviewing = null;
  }

  get canReport() {
    return this.ctx.me.permissions.includes("report");
  }

  get canDecide() {
    return this.ctx.me.permissions.includes("decide");
  }

  /** True while the map's clicks belong to the form (drawing, or picking a hazard). */
  get capturesClicks() {
    return Boolean(this.drawing && ["polygon", "point", "select"].includes(
      this.drawing.currentMode));
  }

  /** A click on a hazard while the form is open picks that hazard. */
  pickHazard(code) {
    if (!this.form || !code) return false;
    $("report-hazard").value = code;
    this.loadHazard(code);
    return true;
  }

  /** Leaves a report being written (its drawing too), e.g. when a record is opened. */
  teardownForm() {
    this.form = null;
    this.reviewing = null;
    this.stopDrawing();
  }

  teardown() {
    if (this.drawing) {
      try { this.drawing.stop(); } catch { /* the map is going away */ }
    }
    this.drawing = null;
    this.form = null;
    this.reviewing = null;
  }

  // -- the work panel: lists ----------------------------------------------------------

  async open() {
    this.form = null;
    this.reviewing = null;
    this.stopDrawing();
    this.ctx.showReview([]);
    const body = [];
    if (this.canReport) {
      const start = el("button", { type: "button", id: "new-report", text: "New report" });
      start.addEventListener("click", () => this.startForm());
      body.push(el("p", {}, start));
    }
    if (this.canDecide) {
      body.push(el("h3", { text: "Waiting for approval" }),
        el("ul", { id: "queue", class: "report-list", "aria-live": "polite" },
          el("li", { text: "Loading…" })));
    }
    if (this.canReport && this.ctx.me.organisation) {
      body.push(el("h3", { text: `Reports of ${this.ctx.me.organisation}` }),
        el("ul", { id: "own-reports", class: "report-list" }, el("li", { text: "Loading…" })));
    }
    if (!this.canReport && !this.canDecide) {
      body.push(el("p", { text: "Your account may read the record but not file or approve "
        + "reports. Ask an information manager if you need to." }));
    }
    this.ctx.showPanel("Reports", body);
    await Promise.all([
      this.canDecide ? this.fillList("queue", "status=submitted", true) : null,
      this.canReport && this.ctx.me.organisation
        ? this.fillList("own-reports", `organisation=${encodeURIComponent(this.ctx.me.organisation)}`
          + "&sort=-code", false)
        : null,
    ]);
  }

  async fillList(id, query, forReview) {
    const list = $(id);
    try {
      const page = await request(`api/v1/reports?limit=100&${query}`);
      if (!list.isConnected) return;
      if (!page.items.length) {
        list.replaceChildren(el("li", { text: forReview ? "No report is waiting." : "None yet." }));
        return;
      }
      list.replaceChildren(...page.items.map((r) => this.listItem(r, forReview)));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) this.ctx.failed(err);
      else list.replaceChildren(el("li", { class: "error", text: err.message }));
    }
  }

  listItem(report, forReview) {
    const label = `${report.code}, ${report.info_date}, ${REPORT_STATUS[report.status] || report.status}`;
    const item = el("li", { "data-code": report.code, "data-status": report.status });
    if (forReview) {
      const button = el("button", { type: "button", class: "link", text: `Review ${label}` });
      button.addEventListener("click", () => this.review(report.code));
      item.append(button, el("p", { class: "hint", text: `by ${report.author} (${report.organisation_code})` }));
    } else {
      item.append(el("span", { text: label }));
      if (report.status === "draft") {
        const submit = el("button", { type: "button", text: `Submit ${report.code}` });
        submit.addEventListener("click", () => this.submit(report.code, submit));
        item.append(" ", submit);
      }
      if (report.status === "rejected" && report.decision_reason) {
        item.append(el("p", { class: "why", text: `Rejected by ${report.decided_by}: ${report.decision_reason}` }));
      }
    }
    if (report.summary) item.append(el("p", { class: "hint", text: report.summary }));
    return item;
  }

  async submit(code, button) {
    button.disabled = true;
    try {
      const answer = await request(`api/v1/reports/${encodeURIComponent(code)}/submit`,
        { method: "POST" });
      showMessage(`Report ${code} was sent for approval (status: ${REPORT_STATUS[answer.status]}).`,
        "info");
      await this.open();
    } catch (err) {
      button.disabled = false;
      this.ctx.failed(err, `Report ${code} could not be submitted`);
    }
  }

  // -- the form -------------------------------------------------------------------------

  ensureDrawing() {
    if (!drawingAvailable()) throw new Error("the drawing library did not load");
    if (!this.drawing) this.drawing = new Drawing(this.ctx.map(), () => this.onDrawn());
    return this.drawing;
  }

  stopDrawing() {
    if (this.drawing) this.drawing.clear();
  }

  startForm() {
    showMessage("");
    try {
      this.ensureDrawing().clear();
    } catch (err) {
      showMessage(`Reports cannot be drawn: ${err.message}`);
      return;
    }
    this.form = { hazard: null, finds: new Map() };
    const org = this.ctx.me.organisation;
    const orgField = org
      ? el("p", { class: "hint", text: `For organisation ${org}` })
      : field("Organisation", el("input", { id: "report-org", required: true,
        autocomplete: "off", placeholder: "e.g. FDU" }));
    const hazard = el("input", { id: "report-hazard", required: true, autocomplete: "off",
      placeholder: "HA-000012" });
    hazard.addEventListener("change", () => this.loadHazard(hazard.value.trim().toUpperCase()));
    const work = select("report-work", WORK.map(([v, label]) => [v, label]), "clearance");
    work.addEventListener("change", () => this.suggestCode());
    const date = el("input", { id: "report-date", type: "date", required: true, value: today(),
      max: today() });
    date.addEventListener("change", () => this.suggestCode());
    const tools = el("div", { class: "tools", role: "group", "aria-label": "Drawing" });
    for (const [id, text, action] of [
      ["draw-polygon", "Draw the worked area", () => this.drawing.mode("polygon")],
      ["use-outline", "Start from the hazard outline", () => this.useOutline()],
      ["edit-shape", "Edit", () => this.drawing.mode("select")],
      ["clear-shape", "Clear", () => { this.drawing.removeKind("Polygon"); this.onDrawn(); }],
    ]) {
      const b = el("button", { type: "button", id, text });
      b.addEventListener("click", action);
      tools.append(b);
    }
    const addFind = el("button", { type: "button", id: "add-find", text: "Add a find on the map" });
    addFind.addEventListener("click", () => {
      this.drawing.mode("point");
      showMessage("Click the map where the item was found.", "info");
    });
    const form = el("form", { id: "report-form", noValidate: true },
      orgField,
      field("Hazard area", hazard, "Type its code or click it on the map."),
      el("p", { id: "report-hazard-info", class: "hint", "aria-live": "polite" }),
      field("Work done", work),
      field("Status of the work", select("report-status", STATUS, "completed")),
      field("Activity code", el("input", { id: "report-activity", required: true,
        autocomplete: "off" }), "Keep the same code for each day of the same task."),
      field("Date of information", date),
      el("fieldset", {}, el("legend", { text: "Land released" }), tools,
        el("p", { id: "report-area", class: "hint", "aria-live": "polite",
          text: "Nothing drawn yet." })),
      el("fieldset", {}, el("legend", { text: "Explosive ordnance found" }), addFind,
        el("ol", { id: "report-finds", class: "finds" })),
      field("Summary", el("textarea", { id: "report-summary", rows: 2, maxLength: 4000 })),
      el("div", { class: "actions" },
        el("button", { type: "submit", id: "save-draft", text: "Save draft" }),
        el("button", { type: "button", id: "cancel-report", class: "secondary", text: "Cancel" })),
    );
    form.addEventListener("submit", (e) => { e.preventDefault(); this.save(); });
    form.querySelector("#cancel-report").addEventListener("click", () => this.open());
    this.ctx.showPanel("New report", [form]);
    this.suggestCode();
    hazard.focus();
  }

  suggestCode() {
    const input = $("report-activity");
    if (!input || (input.value && input.dataset.auto !== "1")) return;
    const hazard = (this.form.hazard?.code || "").replace(/[^A-Z0-9]/gi, "");
    const work = { clearance: "CL", ts: "TS", nts: "NTS" }[$("report-work").value];
    const date = ($("report-date").value || today()).replaceAll("-", "");
    input.value = hazard ? `ACT-${hazard}-${work}-${date}` : "";
    input.dataset.auto = "1";
    input.oninput = () => { input.dataset.auto = "0"; };
  }

  async loadHazard(code) {
    const info = $("report-hazard-info");
    if (!code) return;
    info.textContent = "Loading…";
    try {
      const hazard = await request(`api/v1/hazards/${encodeURIComponent(code)}`);
      if (!this.form) return;
      this.form.hazard = hazard;
      $("report-hazard").value = hazard.code;
      info.textContent = `${hazard.name || hazard.code}: ${words(hazard.status)}, `
        + `${squareMetres(hazard.remaining_m2)} remaining of ${squareMetres(hazard.original_m2)}.`;
      this.ctx.select(hazard.geometry);
      this.ctx.focusMap([hazard.geometry]);
      this.suggestCode();
    } catch (err) {
      if (!this.form) return;
      this.form.hazard = null;
      info.textContent = err instanceof ApiError && err.status === 404
        ? `There is no hazard area ${code}. Check the code.`
        : `The hazard area could not be read: ${err.message}`;
    }
  }

  useOutline() {
    if (!this.form?.hazard) {
      showMessage("Pick the hazard area first: type its code or click it on the map.");
      $("report-hazard").focus();
      return;
    }
    try {
      this.drawing.loadPolygon(this.form.hazard.geometry);
      showMessage("Drag the corners to the edge of the land worked; "
        + "click a corner to delete it.", "info");
    } catch (err) {
      showMessage(err.message);
    }
  }

  onDrawn() {
    if (!this.form || !this.drawing) return;
    if (this.drawing.currentMode === "point") this.drawing.mode("select");
    const polygon = this.drawing.polygon();
    const area = $("report-area");
    if (area) {
      area.textContent = polygon
        ? `Drawn: about ${squareMetres(approximateArea(polygon))}.`
        : "Nothing drawn yet.";
    }
    this.syncFinds();
  }

  syncFinds() {
    const list = $("report-finds");
    if (!list) return;
    const points = this.drawing.points();
    const ids = new Set(points.map((p) => String(p.id)));
    for (const id of [...this.form.finds.keys()]) {
      if (!ids.has(id)) this.form.finds.delete(id);
    }
    points.forEach((p, i) => {
      const key = String(p.id);
      let row = this.form.finds.get(key);
      if (!row) {
        const n = this.form.finds.size + 1;
        const category = select(`find-${n}-category`, FINDING_CATEGORY.map(([v, , w]) => [v, w]));
        const disposal = select(`find-${n}-disposal`, DISPOSAL);
        const remove = el("button", { type: "button", class: "secondary", text: "Remove" });
        remove.addEventListener("click", () => { this.drawing.removePoint(p.id); this.onDrawn(); });
        row = { node: el("li", { class: "find" },
          field("Category", category), field("Disposal", disposal), remove),
        category, disposal };
        this.form.finds.set(key, row);
      }
      row.geometry = p.geometry;
      row.node.dataset.index = String(i + 1);
    });
    list.replaceChildren(...[...this.form.finds.values()].map((r) => r.node));
  }

  /** The report as the API takes it, or an Error naming what is missing. */
  body() {
    const org = this.ctx.me.organisation || $("report-org")?.value.trim().toUpperCase();
    const hazard = this.form.hazard;
    const polygon = this.drawing.polygon();
    const code = $("report-activity").value.trim();
    const date = $("report-date").value;
    const missing = [];
    if (!org) missing.push(["report-org", "the organisation"]);
    if (!hazard) missing.push(["report-hazard", "the hazard area (type its code or click it)"]);
    if (!code) missing.push(["report-activity", "an activity code"]);
    if (!date) missing.push(["report-date", "the date of information"]);
    const status = $("report-status").value;
    if (!polygon && !this.form.finds.size && status === "completed") {
      missing.push(["draw-polygon", "the land released (draw it) or a find"]);
    }
    if (missing.length) {
      const error = new Error(`Please give ${missing.map(([, w]) => w).join(", ")}.`);
      error.focus = missing[0][0];
      throw error;
    }
    const work = WORK.find(([v]) => v === $("report-work").value);
    const activity = {
      code, hazard_code: hazard.code, type: work[0], status, organisation_code: org,
      actual_end: status === "completed" ? date : undefined,
      outcomes: polygon ? [{ method: work[2], geometry: polygon }] : [],
    };
    const entries = [{ kind: "activity", payload: activity }];
    for (const row of this.form.finds.values()) {
      entries.push({ kind: "finding", payload: {
        activity_code: code, geometry: row.geometry, eo_category: row.category.value,
        disposal: row.disposal.value, found_on: date } });
    }
    return { organisation: org, info_date: date, summary: $("report-summary").value.trim(),
      entries };
  }

  async save() {
    let body;
    try {
      body = this.body();
    } catch (err) {
      showMessage(err.message);
      if (err.focus) $(err.focus)?.focus();
      return;
    }
    const button = $("save-draft");
    button.disabled = true;
    try {
      const answer = await request("api/v1/reports", { method: "POST", body });
      this.drawing.clear();
      this.ctx.select(null);
      this.form = null;
      const submit = el("button", { type: "button", id: "submit-report",
        text: `Submit ${answer.code} for approval` });
      submit.addEventListener("click", () => this.submit(answer.code, submit));
      const back = el("button", { type: "button", class: "secondary", text: "Back to reports" });
      back.addEventListener("click", () => this.open());
      this.ctx.showPanel(`Report ${answer.code}`, [
        el("p", { id: "saved", text: `Draft ${answer.code} is saved. It changes nothing until `
          + "it is submitted and an information manager approves it." }),
        el("div", { class: "actions" }, submit, back)]);
      showMessage(`Draft ${answer.code} saved.`, "info");
      submit.focus();
    } catch (err) {
      button.disabled = false;
      this.ctx.failed(err, "The report was not saved");
    }
  }

  // -- review ---------------------------------------------------------------------------

  async review(code) {
    showMessage("");
    this.stopDrawing();
    try {
      const [report, entries] = await Promise.all([
        request(`api/v1/reports/${encodeURIComponent(code)}`),
        request(`api/v1/reports/${encodeURIComponent(code)}/entries`),
      ]);
      const hazardCodes = [...new Set(entries.items.map((e) => e.hazard_code).filter(Boolean))];
      const hazards = await Promise.all(hazardCodes.map(
        (h) => request(`api/v1/hazards/${encodeURIComponent(h)}`).catch(() => null)));
      this.reviewing = { report, entries: entries.items };
      this.renderReview(report, entries.items, hazards.filter(Boolean));
    } catch (err) {
      this.ctx.failed(err, `Report ${code} could not be opened`);
    }
  }

  renderReview(report, entries, hazards) {
    const proposed = [];
    const list = el("ol", { class: "entries" });
    for (const entry of entries) {
      const p = entry.payload || {};
      const item = el("li", { "data-kind": entry.kind });
      if (entry.kind === "activity") {
        const released = (p.outcomes || []).map((o) => {
          proposed.push({ type: "Feature", geometry: o.geometry, properties: { kind: "outcome", method: o.method } });
          return `${words(o.method)} about ${squareMetres(approximateArea(o.geometry))}`;
        });
        item.append(el("p", { text: `${words(p.type || "activity")} ${p.code} on ${p.hazard_code}: `
          + `${words(p.status || "")}` }),
        el("p", { class: "hint", text: released.length ? `Land: ${released.join("; ")}` : "No land released." }));
      } else if (entry.kind === "finding") {
        proposed.push({ type: "Feature", geometry: p.geometry, properties: { kind: "finding" } });
        item.append(el("p", { text: `Find: ${words(p.eo_category || "")}, ${words(p.disposal || "")}, on ${p.found_on}` }));
      } else {
        if (p.geometry) proposed.push({ type: "Feature", geometry: p.geometry, properties: { kind: entry.kind } });
        item.append(el("p", { text: `${words(entry.kind)} ${p.code || ""}` }));
      }
      list.append(item);
    }
    const current = el("dl", { class: "fields" });
    for (const h of hazards) {
      current.append(el("dt", { text: `${h.code} now` }),
        el("dd", { text: `${words(h.status)}, ${squareMetres(h.remaining_m2)} remaining of `
          + `${squareMetres(h.original_m2)}` }));
    }
    const reason = el("textarea", { id: "reject-reason", rows: 2, maxLength: 4000 });
    const approve = el("button", { type: "button", id: "approve", text: "Approve" });
    const reject = el("button", { type: "button", id: "reject", class: "danger", text: "Reject" });
    const back = el("button", { type: "button", class: "secondary", text: "Back to the queue" });
    approve.addEventListener("click", () => this.decide("approve", approve));
    reject.addEventListener("click", () => this.decide("reject", reject));
    back.addEventListener("click", () => this.open());
    const decided = report.status !== "submitted";
    approve.disabled = decided;
    reject.disabled = decided;
    this.ctx.showPanel(`Review ${report.code}`, [
      el("p", { text: `${REPORT_STATUS[report.status] || report.status}: filed by ${report.author} `
        + `for ${report.organisation_code}, information of ${report.info_date}.` }),
      report.summary ? el("p", { class: "why", text: report.summary }) : null,
      el("h3", { text: "Proposed" }), list,
      el("h3", { text: "Current record" }), current,
      el("p", { class: "hint", text: "On the map: the proposed land in blue hatching, the "
        + "hazard area as it is now outlined in black." }),
      field("Reason (needed to reject)", reason),
      el("div", { class: "actions" }, approve, reject, back),
    ]);
    this.ctx.showReview(proposed);
    this.ctx.select(hazards.length === 1 ? hazards[0].geometry : null);
    this.ctx.focusMap([...proposed.map((f) => f.geometry), ...hazards.map((h) => h.geometry)]);
  }

  async decide(action, button) {
    const report = this.reviewing?.report;
    if (!report) return;
    const reason = $("reject-reason").value.trim();
    if (action === "reject" && !reason) {
      showMessage("Please write why the report is rejected; the operator will read it.");
      $("reject-reason").focus();
      return;
    }
    button.disabled = true;
    try {
      const answer = await request(`api/v1/reports/${encodeURIComponent(report.code)}/${action}`, {
        method: "POST", body: action === "reject" ? { reason } : undefined });
      if (action === "approve") {
        const reopened = answer.settlements_reopened || [];
        showMessage(`Report ${report.code} approved. `
          + (reopened.length ? `Settlements reopened: ${reopened.join(", ")}.` : "No settlement reopened."),
        "info");
        await this.ctx.afterApproval(answer);
      } else {
        showMessage(`Report ${report.code} rejected.`, "info");
      }
      await this.open();
    } catch (err) {
      button.disabled = false;
      this.ctx.failed(err, `Report ${report.code} could not be ${action === "approve" ? "approved" : "rejected"}`);
    }
  }
}

