// Talking to the demine server: the login token and JSON requests whose errors are the
// server's own words (the "detail" of its JSON error body).

/** The directory the page was served from; every request is relative to it. */
export const BASE = new URL(".", document.baseURI).href;

const TOKEN_KEY = "demine.token";
const USER_KEY = "demine.user";

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function username() {
  return sessionStorage.getItem(USER_KEY) || "";
}

export function forget() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
}

/** Headers that authenticate a request to this server (tiles use them too). */
export function authHeaders() {
  const t = token();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

/** The JSON answer of `path` (relative to BASE), or an ApiError in plain words. */
export async function request(path, { method = "GET", body, auth = true } = {}) {
  const headers = { Accept: "application/json", ...(auth ? authHeaders() : {}) };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError("The server cannot be reached. Check the connection and try again.", 0);
  }
  const text = response.status === 204 ? "" : await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const detail = data && typeof data.detail === "string" && data.detail
      ? data.detail
      : `the server answered ${response.status} ${response.statusText}`.trim();
    throw new ApiError(detail, response.status);
  }
  return data;
}

export async function login(user, password) {
  const answer = await request("api/v1/auth/login", {
    method: "POST", body: { username: user, password }, auth: false,
  });
  sessionStorage.setItem(TOKEN_KEY, answer.access_token);
  sessionStorage.setItem(USER_KEY, answer.username);
  return answer;
}

export async function logout() {
  try {
    if (token()) await request("api/v1/auth/logout", { method: "POST" });
  } finally {
    forget();
  }
}
