import { describe, expect, it } from "vitest";
import { apiUrl, basePathOf, baseUrl, parseRoute, routePath, socketUrl } from "./routes";

function fakeDocument(baseURI: string, hasBase: boolean) {
  return { baseURI, querySelector: () => (hasBase ? ({} as Element) : null) } as unknown as Document;
}

describe("routes", () => {
  it("reads the base from <base href>, else from window.__PORTAGENT__, else the root", () => {
    const win = {} as Window;
    expect(baseUrl(fakeDocument("https://h/portagent/", true), win)).toBe("https://h/portagent/");
    expect(baseUrl(fakeDocument("https://h/chat/abc?x=1", false), win)).toBe("https://h/");
    const configured = { __PORTAGENT__: { basePath: "/sub/" } } as unknown as Window;
    expect(baseUrl(fakeDocument("https://h/sub/chat/abc", false), configured)).toBe("https://h/sub/");
  });

  it("parses locations under a base path", () => {
    expect(parseRoute("/portagent/login", "/portagent/")).toEqual({ page: "login" });
    expect(parseRoute("/portagent/register", "/portagent/")).toEqual({ page: "register" });
    expect(parseRoute("/portagent/admin", "/portagent/")).toEqual({ page: "admin" });
    expect(parseRoute("/admin/x", "/")).toEqual({ page: "not-found", path: "/admin/x" });
    expect(parseRoute("/portagent/chat", "/portagent/")).toEqual({ page: "chat", sessionId: null });
    expect(parseRoute("/portagent/chat/abc-1/", "/portagent/")).toEqual({ page: "chat", sessionId: "abc-1" });
    expect(parseRoute("/portagent/", "/portagent/")).toEqual({ page: "chat", sessionId: null });
    expect(parseRoute("/portagent", "/portagent/")).toEqual({ page: "chat", sessionId: null });
    expect(parseRoute("/other/login", "/portagent/")).toEqual({ page: "not-found", path: "/other/login" });
    expect(parseRoute("/chat/a/b", "/")).toEqual({ page: "not-found", path: "/chat/a/b" });
    expect(parseRoute("/nope", "/")).toEqual({ page: "not-found", path: "/nope" });
  });

  it("builds paths that parse back to the same route", () => {
    const routes = [
      { page: "login" },
      { page: "register" },
      { page: "admin" },
      { page: "chat", sessionId: null },
      { page: "chat", sessionId: "a b/c" },
    ] as const;
    for (const basePath of ["/", "/portagent/"]) {
      for (const route of routes) expect(parseRoute(routePath(route, basePath), basePath)).toEqual(route);
    }
    expect(routePath({ page: "chat", sessionId: "s1" }, "/portagent/")).toBe("/portagent/chat/s1");
  });

  it("resolves API and WebSocket URLs against the base", () => {
    expect(apiUrl("https://h/portagent/", "api/auth/login")).toBe("https://h/portagent/api/auth/login");
    expect(apiUrl("http://h:5200/", "/agentx/info")).toBe("http://h:5200/agentx/info");
    expect(socketUrl("https://h/portagent/", "a.b+c", "/ws")).toBe("wss://h/portagent/ws?token=a.b%2Bc");
    expect(socketUrl("http://h:5200/", "tok")).toBe("ws://h:5200/ws?token=tok");
    expect(socketUrl("http://h/portagent/", "tok", "/portagent/ws")).toBe("ws://h/portagent/ws?token=tok");
    expect(basePathOf("https://h/portagent/")).toBe("/portagent/");
  });
});
