/**
 * Where the app lives and its client-side routes. The server may run under a sub-path
 * (`BASE_PATH`); it says so with a `<base href>` in `index.html` (or `window.__PORTAGENT__`),
 * and every URL the app makes is resolved against that base.
 */

export type Route =
  | { page: "login" }
  | { page: "register" }
  | { page: "chat"; sessionId: string | null }
  | { page: "admin" }
  | { page: "not-found"; path: string };

declare global {
  interface Window {
    __PORTAGENT__?: { basePath?: string };
  }
}

/** The app's base URL, ending in "/" (e.g. `https://host/portagent/`). */
export function baseUrl(doc: Pick<Document, "baseURI" | "querySelector"> = document, win: Window = window): string {
  if (doc.querySelector("base[href]") !== null) return ensureSlash(doc.baseURI);
  const basePath = win.__PORTAGENT__?.basePath;
  const origin = new URL(doc.baseURI).origin;
  return ensureSlash(new URL(basePath ?? "/", origin).href);
}

function ensureSlash(url: string): string {
  const parsed = new URL(url);
  parsed.search = "";
  parsed.hash = "";
  if (!parsed.pathname.endsWith("/")) parsed.pathname = parsed.pathname.replace(/[^/]*$/, "");
  return parsed.href;
}

/** The path part of the base URL, ending in "/" (e.g. `/portagent/`). */
export function basePathOf(base: string): string {
  return new URL(base).pathname;
}

/** An HTTP URL of the server (`api/auth/login`), relative to the app's base. */
export function apiUrl(base: string, path: string): string {
  return new URL(path.replace(/^\/+/, ""), base).href;
}

/**
 * The WebSocket URL for `wsPath` (from `/agentx/info`, default `/ws`, relative to the base
 * path; one that already starts with the base path is taken as it is), with the token.
 */
export function socketUrl(base: string, token: string, wsPath = "/ws"): string {
  const basePath = basePathOf(base);
  const path = basePath !== "/" && wsPath.startsWith(basePath) ? wsPath : wsPath.replace(/^\/+/, "");
  const url = new URL(path, base);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("token", token);
  return url.href;
}

/** The route a location path (`/portagent/chat/abc`) shows, given the base path. */
export function parseRoute(pathname: string, basePath: string): Route {
  let rest: string;
  if (pathname.startsWith(basePath)) rest = pathname.slice(basePath.length);
  else if (`${pathname}/` === basePath) rest = "";
  else return { page: "not-found", path: pathname };
  const parts = rest.split("/").filter((part) => part !== "");
  const [first, second, ...extra] = parts;
  if (first === undefined) return { page: "chat", sessionId: null };
  if (extra.length > 0) return { page: "not-found", path: pathname };
  if (first === "login" && second === undefined) return { page: "login" };
  if (first === "register" && second === undefined) return { page: "register" };
  if (first === "admin" && second === undefined) return { page: "admin" };
  if (first === "chat") {
    if (second === undefined) return { page: "chat", sessionId: null };
    try {
      return { page: "chat", sessionId: decodeURIComponent(second) };
    } catch {
      return { page: "not-found", path: pathname };
    }
  }
  return { page: "not-found", path: pathname };
}

/** The location path of a route, under the base path. */
export function routePath(route: Route, basePath: string): string {
  switch (route.page) {
    case "login":
      return `${basePath}login`;
    case "register":
      return `${basePath}register`;
    case "admin":
      return `${basePath}admin`;
    case "chat":
      return route.sessionId === null ? `${basePath}chat` : `${basePath}chat/${encodeURIComponent(route.sessionId)}`;
    case "not-found":
      return route.path;
  }
}

export function sameRoute(a: Route, b: Route): boolean {
  return routePath(a, "/") === routePath(b, "/");
}
