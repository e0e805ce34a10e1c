/** The app shell: who is signed in, which page the location shows, and moving between pages. */
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { Api, ApiError, type SignedIn } from "../api";
import { baseUrl, basePathOf, parseRoute, type Route, routePath } from "../routes";
import type { User } from "../ws/protocol";
import { LoginPage, RegisterPage } from "./AuthPages";
import { AdminPage } from "./AdminPage";
import { ChatPage } from "./ChatPage";

const TOKEN_KEY = "portagent.token";

export type Auth =
  | { status: "checking" }
  | { status: "signed-out" }
  | { status: "signed-in"; token: string; user: User };

export type Navigate = (route: Route, options?: { replace?: boolean }) => void;

function readToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function writeToken(token: string | null): void {
  try {
    if (token === null) localStorage.removeItem(TOKEN_KEY);
    else localStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage may be disabled (private mode): the session then lasts as long as the page.
  }
}

export function App() {
  const base = useMemo(() => baseUrl(), []);
  const basePath = useMemo(() => basePathOf(base), [base]);
  const api = useMemo(() => new Api(base), [base]);
  const [route, setRoute] = useState<Route>(() => parseRoute(location.pathname, basePath));
  const [auth, setAuth] = useState<Auth>({ status: "checking" });
  /** A short message for the sign-in page (why the user was signed out). */
  const [flash, setFlash] = useState<string | null>(null);

  const navigate: Navigate = useCallback(
    (next, options = {}) => {
      const path = routePath(next, basePath);
      if (path !== location.pathname) {
        if (options.replace) history.replaceState(null, "", path);
        else history.pushState(null, "", path);
      }
      setRoute(next);
    },
    [basePath],
  );

  useEffect(() => {
    const onPop = () => setRoute(parseRoute(location.pathname, basePath));
    addEventListener("popstate", onPop);
    return () => removeEventListener("popstate", onPop);
  }, [basePath]);

  // Check a kept token once, on load.
  useEffect(() => {
    const token = readToken();
    if (token === null) {
      setAuth({ status: "signed-out" });
      return;
    }
    let cancelled = false;
    const check = async (): Promise<void> => {
      try {
        const user = await api.verify(token);
        if (cancelled) return;
        if (user === null) {
          writeToken(null);
          setFlash("Your session has expired. Please sign in again.");
          setAuth({ status: "signed-out" });
        } else {
          setAuth({ status: "signed-in", token, user });
        }
      } catch {
        // The server cannot be reached: keep the token and try the chat (it reconnects).
        if (!cancelled) setAuth({ status: "signed-in", token, user: placeholderUser() });
      }
    };
    void check();
    return () => {
      cancelled = true;
    };
  }, [api]);

  // Signing in or out in another tab does the same here.
  useEffect(() => {
    const onStorage = (event: StorageEvent) => {
      if (event.key !== TOKEN_KEY && event.key !== null) return;
      const token = readToken();
      const current = auth.status === "signed-in" ? auth.token : null;
      if (token === current) return;
      if (token === null) {
        setFlash("You signed out in another tab.");
        setAuth({ status: "signed-out" });
        return;
      }
      api.verify(token).then(
        (user) => {
          if (user !== null && readToken() === token) setAuth({ status: "signed-in", token, user });
        },
        () => undefined,
      );
    };
    addEventListener("storage", onStorage);
    return () => removeEventListener("storage", onStorage);
  }, [api, auth]);

  const signedIn = useCallback(
    (answer: SignedIn) => {
      writeToken(answer.token);
      setFlash(null);
      setAuth({ status: "signed-in", token: answer.token, user: answer.user });
      navigate({ page: "chat", sessionId: null }, { replace: true });
    },
    [navigate],
  );

  const signOut = useCallback(
    async (reason?: string) => {
      const token = auth.status === "signed-in" ? auth.token : null;
      writeToken(null);
      setFlash(reason ?? null);
      setAuth({ status: "signed-out" });
      navigate({ page: "login" }, { replace: true });
      if (token !== null && reason === undefined) {
        await api.logout(token).catch((error: unknown) => {
          if (!(error instanceof ApiError)) throw error;
        });
      }
    },
    [api, auth, navigate],
  );

  // Keep the location consistent with who is signed in.
  useEffect(() => {
    if (auth.status === "checking") return;
    if (auth.status === "signed-out" && (route.page === "chat" || route.page === "admin")) navigate({ page: "login" }, { replace: true });
    if (auth.status === "signed-in" && (route.page === "login" || route.page === "register")) {
      navigate({ page: "chat", sessionId: null }, { replace: true });
    }
  }, [auth.status, route, navigate]);

  useEffect(() => {
    // The chat page names its conversation itself.
    if (route.page === "login") document.title = "Sign in · Portagent";
    else if (route.page === "register") document.title = "Create an account · Portagent";
    else if (route.page === "admin") document.title = "Admin · Portagent";
    else if (route.page === "not-found") document.title = "Not found · Portagent";
  }, [route.page]);

  if (auth.status === "checking") {
    return (
      <div class="splash" aria-busy="true">
        <p>Loading…</p>
      </div>
    );
  }
  if (route.page === "not-found") {
    return (
      <main class="auth-page">
        <div class="auth-card">
          <h1>Page not found</h1>
          <p>
            There is nothing at <code>{route.path}</code>.{" "}
            <a href={routePath({ page: "chat", sessionId: null }, basePath)} onClick={link(() => navigate({ page: "chat", sessionId: null }))}>
              Go to your conversations
            </a>
          </p>
        </div>
      </main>
    );
  }
  if (auth.status === "signed-out") {
    if (route.page === "register") {
      return <RegisterPage api={api} basePath={basePath} navigate={navigate} onSignedIn={signedIn} />;
    }
    return <LoginPage api={api} basePath={basePath} navigate={navigate} onSignedIn={signedIn} flash={flash} />;
  }
  if (route.page === "admin") {
    return (
      <AdminPage
        key={auth.token}
        api={api}
        basePath={basePath}
        token={auth.token}
        user={auth.user}
        navigate={navigate}
        onSignOut={signOut}
      />
    );
  }
  if (route.page !== "chat") return null;
  return (
    <ChatPage
      key={auth.token}
      api={api}
      base={base}
      basePath={basePath}
      token={auth.token}
      user={auth.user}
      sessionId={route.sessionId}
      navigate={navigate}
      onSignOut={signOut}
      onUser={(user) => setAuth({ status: "signed-in", token: auth.token, user })}
    />
  );
}

/** Until the server answers, the user is known by nothing but the token. */
function placeholderUser(): User {
  return { userId: "", username: "", email: null, containerId: "", displayName: null, avatar: null, createdAt: 0 };
}

/** An in-app link's click handler: plain clicks navigate here, modified ones keep the browser's way. */
export function link(go: () => void) {
  return (event: MouseEvent) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    event.preventDefault();
    go();
  };
}
