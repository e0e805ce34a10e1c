/**
 * The admin page (`/admin`): users (deactivate, activate, reset a password, set a daily token
 * limit), invite codes (create, revoke) and the last seven days of usage. Only admins see it;
 * the server refuses everyone else's requests anyway (403).
 */
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import {
  checkPassword,
  expiryText,
  formatDate,
  formatDay,
  formatTokens,
  inviteState,
  limitText,
  NOTE_MAX,
  parseExpiresIn,
  parseQuota,
  parseUses,
  quotaFieldValue,
  usageTable,
} from "../admin/format";
import { type AdminUsage, type AdminUser, type Api, ApiError, type Invite } from "../api";
import { routePath } from "../routes";
import type { User } from "../ws/protocol";
import { link, type Navigate } from "./App";
import { useNow } from "./hooks";

interface AdminPageProps {
  api: Api;
  basePath: string;
  token: string;
  user: User;
  navigate: Navigate;
  onSignOut: (reason?: string) => void;
}

type Dialog =
  | { kind: "deactivate"; user: AdminUser }
  | { kind: "password"; user: AdminUser }
  | { kind: "quota"; user: AdminUser };

const EXPIRED = "Your session has expired. Please sign in again.";

export function AdminPage(props: AdminPageProps) {
  return (
    <div class="admin-layout">
      <header class="topbar">
        <a
          class="topbar-link"
          href={routePath({ page: "chat", sessionId: null }, props.basePath)}
          onClick={link(() => props.navigate({ page: "chat", sessionId: null }))}
        >
          <svg viewBox="0 0 24 24" aria-hidden="true">
            <path d="M15 6l-6 6 6 6" />
          </svg>
          Conversations
        </a>
        <h1 class="topbar-title">Admin</h1>
        <span class="user-name">{props.user.displayName || props.user.username}</span>
        <button type="button" class="ghost" onClick={() => props.onSignOut()}>
          Sign out
        </button>
      </header>
      {props.user.isAdmin ? (
        <AdminSections {...props} />
      ) : (
        <main class="admin">
          <p class="admin-refused" role="status">
            Only admins can see this page. Ask an admin of this server if you need something changed.
          </p>
        </main>
      )}
    </div>
  );
}

function AdminSections(props: AdminPageProps) {
  const { api, token } = props;
  const [users, setUsers] = useState<AdminUser[] | null>(null);
  const [invites, setInvites] = useState<Invite[] | null>(null);
  const [usage, setUsage] = useState<AdminUsage | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const now = useNow(60_000);
  const signOut = useRef(props.onSignOut);
  signOut.current = props.onSignOut;

  /** A failed request: a dead token signs out, anything else is shown. */
  const fail = useCallback((error: unknown) => {
    if (error instanceof ApiError && error.status === 401) signOut.current(EXPIRED);
    else setProblem(error instanceof Error ? error.message : String(error));
  }, []);

  const load = useCallback(async () => {
    try {
      const [nextUsers, nextInvites, nextUsage] = await Promise.all([
        api.adminUsers(token),
        api.invites(token),
        api.adminUsage(token, 7),
      ]);
      setUsers(nextUsers);
      setInvites(nextInvites);
      setUsage(nextUsage);
    } catch (error) {
      fail(error);
    }
  }, [api, token, fail]);

  useEffect(() => {
    void load();
  }, [load]);

  const replaceUser = (changed: AdminUser) =>
    setUsers((current) => current?.map((user) => (user.userId === changed.userId ? changed : user)) ?? null);

  const activate = async (user: AdminUser) => {
    setProblem(null);
    try {
      replaceUser(await api.setActive(token, user.userId, true));
      setNotice(`${user.username} is active again and can sign in.`);
    } catch (error) {
      fail(error);
    }
  };

  const revoke = async (invite: Invite) => {
    setProblem(null);
    try {
      await api.revokeInvite(token, invite.id);
      setNotice(`Invite code ${invite.id} is revoked.`);
      setInvites(await api.invites(token));
    } catch (error) {
      fail(error);
    }
  };

  return (
    <main class="admin">
      {problem !== null ? (
        <div class="admin-problem" role="alert">
          <span>{problem}</span>
          <button type="button" class="icon" aria-label="Dismiss" onClick={() => setProblem(null)}>
            ×
          </button>
        </div>
      ) : null}
      <p class="admin-notice" role="status">
        {notice}
      </p>

      <section class="admin-section" aria-labelledby="admin-users-title">
        <div class="section-head">
          <h2 id="admin-users-title">Users</h2>
          <button type="button" class="small" onClick={() => void load()}>
            Refresh
          </button>
        </div>
        {users === null ? (
          <p class="muted">Loading…</p>
        ) : (
          <UsersTable
            users={users}
            self={props.user.userId}
            onDeactivate={(user) => setDialog({ kind: "deactivate", user })}
            onActivate={(user) => void activate(user)}
            onPassword={(user) => setDialog({ kind: "password", user })}
            onQuota={(user) => setDialog({ kind: "quota", user })}
          />
        )}
      </section>

      <section class="admin-section" aria-labelledby="admin-invites-title">
        <h2 id="admin-invites-title">Invite codes</h2>
        <CreateInvite
          api={api}
          token={token}
          onCreated={(invite) => setInvites((current) => [invite, ...(current ?? [])])}
          onFail={fail}
        />
        {invites === null ? (
          <p class="muted">Loading…</p>
        ) : (
          <InvitesTable invites={invites} now={now} onRevoke={(invite) => void revoke(invite)} />
        )}
      </section>

      <section class="admin-section" aria-labelledby="admin-usage-title">
        <h2 id="admin-usage-title">Usage, last 7 days</h2>
        {usage === null ? <p class="muted">Loading…</p> : <UsageSection usage={usage} />}
      </section>

      {dialog?.kind === "deactivate" ? (
        <Modal
          title={`Deactivate ${dialog.user.username}?`}
          submitLabel="Deactivate"
          danger
          onCancel={() => setDialog(null)}
          onSubmit={async () => {
            replaceUser(await api.setActive(token, dialog.user.userId, false));
            setNotice(`${dialog.user.username} is deactivated.`);
            setDialog(null);
          }}
        >
          <p>
            {dialog.user.username} is signed out everywhere at once, their running replies stop, and they cannot sign in
            until you activate the account again. Their conversations and files stay.
          </p>
        </Modal>
      ) : null}
      {dialog?.kind === "password" ? (
        <PasswordDialog
          user={dialog.user}
          onCancel={() => setDialog(null)}
          onSubmit={async (password) => {
            await api.resetPassword(token, dialog.user.userId, password);
            setNotice(`The password of ${dialog.user.username} is changed; they were signed out everywhere.`);
            setDialog(null);
          }}
        />
      ) : null}
      {dialog?.kind === "quota" ? (
        <QuotaDialog
          user={dialog.user}
          onCancel={() => setDialog(null)}
          onSubmit={async (limit) => {
            const changed = await api.setQuota(token, dialog.user.userId, limit);
            replaceUser(changed);
            setNotice(`The daily token limit of ${changed.username} is now: ${limitText(changed.effectiveDailyTokenLimit)}.`);
            setDialog(null);
          }}
        />
      ) : null}
    </main>
  );
}

interface UsersTableProps {
  users: AdminUser[];
  self: string;
  onDeactivate: (user: AdminUser) => void;
  onActivate: (user: AdminUser) => void;
  onPassword: (user: AdminUser) => void;
  onQuota: (user: AdminUser) => void;
}

function UsersTable(props: UsersTableProps) {
  return (
    <div class="table-scroll" role="region" aria-label="Users table" tabIndex={0}>
      <table class="admin-table">
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Role</th>
            <th scope="col">Status</th>
            <th scope="col" class="number">
              Tokens today
            </th>
            <th scope="col" class="number">
              Daily limit
            </th>
            <th scope="col" class="number">
              Running
            </th>
            <th scope="col">Created</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {props.users.map((user) => {
            const own = user.userId === props.self;
            return (
              <tr key={user.userId} data-user={user.username} data-active={user.isActive ? "true" : "false"}>
                <th scope="row">
                  <span class="cell-main">
                    {user.username}
                    {own ? <span class="muted"> (you)</span> : null}
                  </span>
                  {user.displayName || user.email ? (
                    <span class="cell-sub">{[user.displayName, user.email].filter(Boolean).join(" · ")}</span>
                  ) : null}
                </th>
                <td>{user.isAdmin ? "Admin" : "User"}</td>
                <td>
                  <span class={`badge ${user.isActive ? "ok" : "off"}`}>{user.isActive ? "Active" : "Deactivated"}</span>
                </td>
                <td class="number">{formatTokens(user.usageToday.totalTokens)}</td>
                <td class="number">
                  {limitText(user.effectiveDailyTokenLimit)}
                  {user.dailyTokenLimit === null ? <span class="cell-sub">default</span> : null}
                </td>
                <td class="number">{user.runningRuns}</td>
                <td>{formatDate(user.createdAt)}</td>
                <td>
                  <div class="row-actions">
                    {user.isActive ? (
                      <button
                        type="button"
                        class="small"
                        aria-label={`Deactivate ${user.username}`}
                        disabled={own}
                        title={own ? "You cannot deactivate your own account" : undefined}
                        onClick={() => props.onDeactivate(user)}
                      >
                        Deactivate
                      </button>
                    ) : (
                      <button type="button" class="small" aria-label={`Activate ${user.username}`} onClick={() => props.onActivate(user)}>
                        Activate
                      </button>
                    )}
                    <button
                      type="button"
                      class="small"
                      aria-label={`Reset password for ${user.username}`}
                      onClick={() => props.onPassword(user)}
                    >
                      Reset password
                    </button>
                    <button type="button" class="small" aria-label={`Set quota for ${user.username}`} onClick={() => props.onQuota(user)}>
                      Set quota
                    </button>
                  </div>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/**
 * A modal dialog with a form: Esc and Cancel close it; the submit's error (thrown by
 * `onSubmit`, or returned by `check`) shows inside it, since the page behind is inert.
 */
function Modal(props: {
  title: string;
  submitLabel: string;
  danger?: boolean;
  check?: () => string | null;
  onCancel: () => void;
  onSubmit: () => Promise<void>;
  children: ComponentChildren;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    // The dialog is removed rather than closed: give focus back to what opened it.
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const element = dialog.current;
    if (element !== null && !element.open) element.showModal();
    return () => {
      if (opener?.isConnected && !opener.matches(":disabled")) opener.focus();
    };
  }, []);
  const submit = async (event: Event) => {
    event.preventDefault();
    const invalid = props.check?.() ?? null;
    setError(invalid);
    if (invalid !== null) return;
    setBusy(true);
    try {
      await props.onSubmit();
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
      setBusy(false);
    }
  };
  return (
    <dialog
      ref={dialog}
      class="confirm"
      aria-labelledby="admin-dialog-title"
      onCancel={(event) => {
        event.preventDefault();
        props.onCancel();
      }}
    >
      <form onSubmit={submit} noValidate>
        <h2 id="admin-dialog-title">{props.title}</h2>
        {props.children}
        {error !== null ? (
          <p class="form-error" role="alert">
            {error}
          </p>
        ) : null}
        <div class="dialog-actions">
          <button type="button" onClick={props.onCancel} autofocus={props.danger}>
            Cancel
          </button>
          <button type="submit" class={props.danger ? "danger" : "primary"} disabled={busy}>
            {props.submitLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}

function PasswordDialog(props: { user: AdminUser; onCancel: () => void; onSubmit: (password: string) => Promise<void> }) {
  const [password, setPassword] = useState("");
  const [invalid, setInvalid] = useState(false);
  return (
    <Modal
      title={`Reset password for ${props.user.username}`}
      submitLabel="Set password"
      check={() => {
        const error = checkPassword(password);
        setInvalid(error !== null);
        return error;
      }}
      onCancel={props.onCancel}
      onSubmit={() => props.onSubmit(password)}
    >
      <div class="field">
        <label for="admin-new-password">New password</label>
        <input
          id="admin-new-password"
          type="password"
          autocomplete="new-password"
          autofocus
          value={password}
          aria-invalid={invalid ? "true" : "false"}
          aria-describedby="admin-new-password-hint"
          onInput={(event) => setPassword((event.target as HTMLInputElement).value)}
        />
        <p class="hint" id="admin-new-password-hint">
          6 to 256 characters. {props.user.username} is signed out everywhere and signs in with this one.
        </p>
      </div>
    </Modal>
  );
}

function QuotaDialog(props: { user: AdminUser; onCancel: () => void; onSubmit: (limit: number | null) => Promise<void> }) {
  const [text, setText] = useState(quotaFieldValue(props.user.dailyTokenLimit));
  const [invalid, setInvalid] = useState(false);
  return (
    <Modal
      title={`Set quota for ${props.user.username}`}
      submitLabel="Save"
      check={() => {
        const parsed = parseQuota(text);
        setInvalid(!parsed.ok);
        return parsed.ok ? null : parsed.error;
      }}
      onCancel={props.onCancel}
      onSubmit={() => {
        const parsed = parseQuota(text);
        return props.onSubmit(parsed.ok ? parsed.value : null);
      }}
    >
      <div class="field">
        <label for="admin-quota">Daily token limit</label>
        <input
          id="admin-quota"
          type="text"
          inputMode="numeric"
          autocomplete="off"
          autofocus
          value={text}
          aria-invalid={invalid ? "true" : "false"}
          aria-describedby="admin-quota-hint"
          onInput={(event) => setText((event.target as HTMLInputElement).value)}
        />
        <p class="hint" id="admin-quota-hint">
          Input plus output tokens per UTC day. Empty: the server's default. 0: no limit. Now:{" "}
          {limitText(props.user.effectiveDailyTokenLimit)}.
        </p>
      </div>
    </Modal>
  );
}

function CreateInvite(props: { api: Api; token: string; onCreated: (invite: Invite) => void; onFail: (error: unknown) => void }) {
  const [uses, setUses] = useState("1");
  const [expiresIn, setExpiresIn] = useState("7d");
  const [note, setNote] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [code, setCode] = useState<string | null>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    const checkedUses = parseUses(uses);
    const checkedExpiry = parseExpiresIn(expiresIn);
    const invalid = !checkedUses.ok ? checkedUses.error : !checkedExpiry.ok ? checkedExpiry.error : null;
    setError(invalid);
    if (invalid !== null || !checkedUses.ok || !checkedExpiry.ok) return;
    setBusy(true);
    try {
      const created = await props.api.createInvite(props.token, {
        uses: checkedUses.value,
        expiresIn: checkedExpiry.value,
        note: note.trim() || null,
      });
      setCode(created.code);
      setNote("");
      props.onCreated(created.invite);
    } catch (failure) {
      if (failure instanceof ApiError && failure.status !== 401) setError(failure.message);
      else props.onFail(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="invite-create">
      <form class="invite-form" aria-labelledby="admin-invite-form-title" onSubmit={submit} noValidate>
        <h3 id="admin-invite-form-title">Create invite code</h3>
        <div class="invite-fields">
          <div class="field">
            <label for="invite-uses">Uses</label>
            <input
              id="invite-uses"
              type="text"
              inputMode="numeric"
              autocomplete="off"
              value={uses}
              aria-describedby="invite-uses-hint"
              onInput={(event) => setUses((event.target as HTMLInputElement).value)}
            />
            <p class="hint" id="invite-uses-hint">
              Registrations, 1-1000
            </p>
          </div>
          <div class="field">
            <label for="invite-expires">Expires in</label>
            <input
              id="invite-expires"
              type="text"
              autocomplete="off"
              value={expiresIn}
              aria-describedby="invite-expires-hint"
              onInput={(event) => setExpiresIn((event.target as HTMLInputElement).value)}
            />
            <p class="hint" id="invite-expires-hint">
              30m, 12h, 7d, 2w; empty: never
            </p>
          </div>
          <div class="field invite-note">
            <label for="invite-note">Note</label>
            <input
              id="invite-note"
              type="text"
              autocomplete="off"
              maxLength={NOTE_MAX}
              value={note}
              aria-describedby="invite-note-hint"
              onInput={(event) => setNote((event.target as HTMLInputElement).value)}
            />
            <p class="hint" id="invite-note-hint">
              Optional, e.g. who it is for
            </p>
          </div>
        </div>
        {error !== null ? (
          <p class="form-error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" class="primary" disabled={busy}>
          Create invite code
        </button>
      </form>
      {code !== null ? <NewCode code={code} onDone={() => setCode(null)} /> : null}
    </div>
  );
}

/** The new code, shown once: the server keeps only its hash. */
function NewCode(props: { code: string; onDone: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<string | null>(null);
  useEffect(() => {
    input.current?.focus();
    input.current?.select();
  }, [props.code]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.code);
      setCopied("Copied.");
    } catch {
      // No clipboard API (a page served over plain HTTP): select it for Ctrl+C instead.
      input.current?.focus();
      input.current?.select();
      setCopied("Selected: press Ctrl+C (or ⌘C) to copy.");
    }
  };
  return (
    <div class="new-code" data-invite-code={props.code}>
      <label for="new-invite-code">New invite code</label>
      <div class="new-code-row">
        <input id="new-invite-code" ref={input} type="text" readOnly value={props.code} class="mono" />
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
      </div>
      <p class="new-code-warning">
        <strong>Shown only once.</strong> Copy it now and give it to the person who will register: the server keeps only a
        hash of it and cannot show it again.
      </p>
      <p class="hint" role="status">
        {copied}
      </p>
      <button type="button" class="small" onClick={props.onDone}>
        Done
      </button>
    </div>
  );
}

const STATE_TEXT = { usable: "Usable", revoked: "Revoked", spent: "Used up", expired: "Expired" } as const;

function InvitesTable(props: { invites: Invite[]; now: number; onRevoke: (invite: Invite) => void }) {
  if (props.invites.length === 0) return <p class="muted">No invite codes yet.</p>;
  return (
    <div class="table-scroll" role="region" aria-label="Invite codes table" tabIndex={0}>
      <table class="admin-table">
        <thead>
          <tr>
            <th scope="col">ID</th>
            <th scope="col" class="number">
              Used
            </th>
            <th scope="col">Expires</th>
            <th scope="col">State</th>
            <th scope="col">Note</th>
            <th scope="col">Created</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {props.invites.map((invite) => {
            const state = inviteState(invite, props.now);
            return (
              <tr key={invite.id} data-invite={invite.id} data-state={state}>
                <th scope="row" class="mono">
                  {invite.id}
                </th>
                <td class="number">
                  {invite.uses} / {invite.maxUses}
                </td>
                <td>{expiryText(invite.expiresAt, props.now)}</td>
                <td>
                  <span class={`badge ${state === "usable" ? "ok" : "off"}`}>{STATE_TEXT[state]}</span>
                </td>
                <td class="note-cell">{invite.note ?? ""}</td>
                <td>{formatDate(invite.createdAt)}</td>
                <td>
                  {state === "usable" ? (
                    <button type="button" class="small" aria-label={`Revoke ${invite.id}`} onClick={() => props.onRevoke(invite)}>
                      Revoke
                    </button>
                  ) : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function UsageSection({ usage }: { usage: AdminUsage }) {
  const table = usageTable(usage);
  return (
    <>
      <p class="usage-total" data-usage-total={usage.total.totalTokens}>
        <strong>{formatTokens(usage.total.totalTokens)}</strong> tokens from {formatDay(usage.since)} to{" "}
        {formatDay(usage.until)} (UTC): {formatTokens(usage.total.inputTokens)} input,{" "}
        {formatTokens(usage.total.outputTokens)} output.
      </p>
      {table.rows.length === 0 ? (
        <p class="muted">Nobody used any tokens in these days.</p>
      ) : (
        <div class="table-scroll" role="region" aria-label="Usage per user and day" tabIndex={0}>
          <table class="admin-table">
            <thead>
              <tr>
                <th scope="col">User</th>
                {table.dates.map((date) => (
                  <th scope="col" class="number" key={date}>
                    {formatDay(date)}
                  </th>
                ))}
                <th scope="col" class="number">
                  Total
                </th>
              </tr>
            </thead>
            <tbody>
              {table.rows.map((row) => (
                <tr key={row.userId} data-usage-user={row.username}>
                  <th scope="row">{row.username}</th>
                  {row.perDay.map((count, position) => (
                    <td class="number" key={table.dates[position]}>
                      {count === 0 ? "–" : formatTokens(count)}
                    </td>
                  ))}
                  <td class="number">
                    <strong>{formatTokens(row.total)}</strong>
                  </td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row">All users</th>
                {table.dayTotals.map((count, position) => (
                  <td class="number" key={table.dates[position]}>
                    {formatTokens(count)}
                  </td>
                ))}
                <td class="number">
                  <strong>{formatTokens(table.total)}</strong>
                </td>
              </tr>
            </tfoot>
          </table>
        </div>
      )}
    </>
  );
}
