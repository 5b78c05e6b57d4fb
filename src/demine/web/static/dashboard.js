// The district dashboard: the headline with its trend, land released by method and
// month, findings by category, accidents and victims (counts; more only for those who
// may read personal data) and the teams with what they are working on. Charts are
// Chart.js (vendored; window.Chart); every chart has its figures in a table too, so
// that a screen reader or a printout carries the same numbers.

import { request } from "./api.js";
import { FINDING_CATEGORY, OUTCOME_METHOD } from "./mapstyle.js";
import { $, el, squareMetres, words } from "./ui.js";

const Chart = window.Chart;
let charts = [];

const colour = (table, key) => (table.find(([k]) => k === key) || [])[1] || "#888888";
const label = (table, key) => (table.find(([k]) => k === key) || [])[2] || words(key);

function table(caption, head, rows) {
  return el("table", { class: "figures" },
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...rows.map((r) => el("tr", {},
      ...r.map((c, i) => el(i ? "td" : "th", i ? { text: c } : { scope: "row", text: c }))))));
}

function card(id, title, ...children) {
  return el("section", { class: "card", id, "aria-labelledby": `${id}-title` },
    el("h2", { id: `${id}-title`, text: title }), ...children);
}

function chart(canvas, config) {
  if (!Chart) return;
  const base = { responsive: true, maintainAspectRatio: false, animation: false };
  charts.push(new Chart(canvas, { ...config, options: { ...base, ...config.options } }));
}

function canvas(id, description) {
  const node = el("canvas", { id, role: "img", "aria-label": description });
  return el("div", { class: "chart" }, node);
}

export function closeDashboard() {
  for (const c of charts) c.destroy();
  charts = [];
}

/** Reads the dashboard's figures and draws them into #dashboard. */
export async function showDashboard() {
  const root = $("dashboard");
  closeDashboard();
  root.replaceChildren(el("p", { text: "Loading…" }));
  const d = await request("api/v1/dashboard");
  const s = d.settlements;
  const months = Object.keys(d.land_released_m2.by_month);
  const findings = Object.entries(d.findings_by_category).sort((a, b) => b[1] - a[1]);
  const a = d.accidents;

  const headline = card("dash-headline", "Settlements",
    el("p", { class: "big", id: "dash-closed", text: `${s.closed} of ${s.total} settlements closed` }),
    el("p", { text: `${s.population_closed.toLocaleString()} of `
      + `${s.population_total.toLocaleString()} people live in closed settlements.` }),
    canvas("chart-trend", "Settlements closed over time"),
    table("Settlements closed, by date of information", ["Date", "Closed"],
      d.trend.map((p) => [p.date, String(p.closed)])));

  const land = card("dash-land", "Land released by method and month",
    canvas("chart-land", "Land released by method and month, in square metres"),
    table("Land released (m²)", ["Month", ...OUTCOME_METHOD.map(([, , w]) => w)],
      months.map((m) => [m, ...OUTCOME_METHOD.map(([k]) => squareMetres(d.land_released_m2.by_month[m][k]))])));

  const finds = card("dash-findings", "Explosive ordnance found",
    canvas("chart-findings", "Items found by category"),
    table("Items found", ["Category", "Items"],
      findings.map(([k, n]) => [label(FINDING_CATEGORY, k), String(n)])));

  const victimRows = [
    ...Object.entries(a.victims_by_outcome).map(([k, n]) => [words(k), String(n)]),
    ...Object.entries(a.victims_by_role).map(([k, n]) => [`${words(k)}s`, String(n)]),
    ...Object.entries(a.victims_by_sex || {}).map(([k, n]) => [words(k), String(n)]),
    ...Object.entries(a.victims_by_age || {}).map(([k, n]) => [`aged ${k}`, String(n)]),
  ];
  const accidents = card("dash-accidents", "Accidents and victims",
    el("p", { class: "big", text: `${a.accidents} accidents, ${a.victims} victims` }),
    table("Accidents by type", ["Type", "Accidents"],
      Object.entries(a.by_type).map(([k, n]) => [k === "mine_erw" ? "mine/ERW" : words(k), String(n)])),
    table("Victims", ["", "Victims"], victimRows),
    a.victims_by_sex ? null
      : el("p", { class: "hint", text: "Counts only: details about victims need the permission "
        + "to read personal data." }));

  const teams = card("dash-teams", `Teams (${d.activities_in_progress} activities in progress)`,
    table("Teams and what they are working on", ["Team", "Organisation", "Type", "Working on"],
      d.teams.map((t) => [t.code, t.organisation, words(t.asset_type),
        t.working_on.length ? t.working_on.join("; ") : (t.available ? "available" : "not available")])));

  root.replaceChildren(el("div", { class: "cards" }, headline, land, finds, accidents, teams));

  chart($("chart-trend"), {
    type: "line",
    data: { labels: d.trend.map((p) => p.date),
      datasets: [{ label: "Settlements closed", data: d.trend.map((p) => p.closed),
        borderColor: "#d7191c", backgroundColor: "#d7191c", stepped: true }] },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  chart($("chart-land"), {
    type: "bar",
    data: { labels: months,
      datasets: OUTCOME_METHOD.map(([k, c, w]) => ({ label: w, backgroundColor: c,
        data: months.map((m) => Math.round(d.land_released_m2.by_month[m][k])) })) },
    options: { scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: "m²" } } } },
  });
  chart($("chart-findings"), {
    type: "bar",
    data: { labels: findings.map(([k]) => label(FINDING_CATEGORY, k)),
      datasets: [{ label: "Items found", data: findings.map(([, n]) => n),
        backgroundColor: findings.map(([k]) => colour(FINDING_CATEGORY, k)) }] },
    options: { indexAxis: "y", plugins: { legend: { display: false } },
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  root.dataset.ready = "1";
  return d;
}
