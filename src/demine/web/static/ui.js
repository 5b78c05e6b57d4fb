// Small helpers every part of the page uses: elements, the message line, and values
// shown in words rather than as raw field names and numbers.

export const $ = (id) => document.getElementById(id);

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-") || key.startsWith("aria-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

/** One line at the top of the page: an error (the default) or information. */
export function showMessage(text, kind = "error") {
  const box = $("message");
  box.textContent = text || "";
  box.dataset.kind = kind;
  box.hidden = !text;
}

/** A field or vocabulary name in words: "remaining_m2" -> "remaining (m²)". */
export function words(name) {
  return String(name).replaceAll("_", " ").replace(/\bm2\b/, "(m²)");
}

export function shown(name, value) {
  if (value === null || value === undefined || value === "") return "—";
  if (Array.isArray(value)) return value.length ? value.map(String).join(", ") : "none";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number") {
    return name.endsWith("_m2")
      ? value.toLocaleString(undefined, { maximumFractionDigits: 0 })
      : value.toLocaleString();
  }
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function squareMetres(value) {
  return `${Number(value || 0).toLocaleString(undefined, { maximumFractionDigits: 0 })} m²`;
}

/** Today in the browser's own time zone, as the API's dates are written (YYYY-MM-DD). */
export function today() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
