/** Sign in and registration. Errors show in one `role="alert"` element per form. */
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { type Api, ApiError, type SignedIn } from "../api";
import { type RegisterField, type RegisterFields, validateLogin, validateRegistration } from "../auth/validate";
import { routePath } from "../routes";
import { link, type Navigate } from "./App";

interface PageProps {
  api: Api;
  basePath: string;
  navigate: Navigate;
  onSignedIn: (answer: SignedIn) => void;
}

function errorText(error: unknown): string {
  return error instanceof ApiError ? error.message : "Something went wrong. Try again.";
}

function AuthLayout(props: { title: string; children: ComponentChildren }) {
  return (
    <main class="auth-page">
      <div class="auth-card">
        <div class="brand" aria-hidden="true">
          <span class="brand-mark">◆</span> Portagent
        </div>
        <h1>{props.title}</h1>
        {props.children}
      </div>
    </main>
  );
}

function Field(props: {
  id: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  type?: "text" | "password" | "email";
  autocomplete?: string;
  invalid?: boolean;
  hint?: string;
  inputRef?: { current: HTMLInputElement | null };
}) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <input
        id={props.id}
        ref={props.inputRef}
        type={(props.type ?? "text") as "text"}
        value={props.value}
        autocomplete={props.autocomplete}
        aria-invalid={props.invalid ? "true" : undefined}
        aria-describedby={props.hint ? `${props.id}-hint` : undefined}
        onInput={(event) => props.onInput((event.target as HTMLInputElement).value)}
      />
      {props.hint ? (
        <p class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      ) : null}
    </div>
  );
}

export function LoginPage(props: PageProps & { flash: string | null }) {
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), []);

  const submit = async (event: Event) => {
    event.preventDefault();
    const problem = validateLogin(name, password);
    if (problem !== null) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      props.onSignedIn(await props.api.login(name, password));
    } catch (caught) {
      setError(errorText(caught));
      setBusy(false);
    }
  };

  return (
    <AuthLayout title="Sign in">
      {props.flash && !error ? (
        <p class="flash" role="status">
          {props.flash}
        </p>
      ) : null}
      <form onSubmit={submit} noValidate>
        <Field id="login-name" label="Username or email" value={name} onInput={setName} autocomplete="username" inputRef={first} />
        <Field
          id="login-password"
          label="Password"
          type="password"
          value={password}
          onInput={setPassword}
          autocomplete="current-password"
        />
        <div class="form-error" role="alert">
          {error}
        </div>
        <button type="submit" class="primary wide" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
      <p class="switch">
        New here?{" "}
        <a href={routePath({ page: "register" }, props.basePath)} onClick={link(() => props.navigate({ page: "register" }))}>
          Create an account
        </a>
      </p>
    </AuthLayout>
  );
}

const EMPTY_FIELDS: RegisterFields = {
  username: "",
  password: "",
  confirmPassword: "",
  email: "",
  displayName: "",
  inviteCode: "",
};

export function RegisterPage(props: PageProps) {
  const [fields, setFields] = useState<RegisterFields>(EMPTY_FIELDS);
  const [inviteRequired, setInviteRequired] = useState<boolean | null>(null);
  const [error, setError] = useState<{ field: RegisterField | null; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), []);

  useEffect(() => {
    props.api.config().then(
      (config) => setInviteRequired(config.inviteCodeRequired),
      // Unknown: show the field; the server says whether it needs it.
      () => setInviteRequired(true),
    );
  }, [props.api]);

  const set = (field: RegisterField) => (value: string) => {
    setFields((current) => ({ ...current, [field]: value }));
    if (error?.field === field) setError(null);
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    const problem = validateRegistration(fields, inviteRequired === true);
    if (problem !== null) {
      setError(problem);
      document.getElementById(`register-${problem.field}`)?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const answer = await props.api.register({
        username: fields.username,
        password: fields.password,
        ...(fields.email ? { email: fields.email } : {}),
        ...(fields.displayName ? { displayName: fields.displayName } : {}),
        ...(inviteRequired && fields.inviteCode ? { inviteCode: fields.inviteCode } : {}),
      });
      props.onSignedIn(answer);
    } catch (caught) {
      setError({ field: null, message: errorText(caught) });
      setBusy(false);
    }
  };

  const invalid = (field: RegisterField) => error?.field === field;
  return (
    <AuthLayout title="Create an account">
      <form onSubmit={submit} noValidate>
        <Field
          id="register-username"
          label="Username"
          value={fields.username}
          onInput={set("username")}
          autocomplete="username"
          invalid={invalid("username")}
          hint="3–64 letters, digits, '_', '-' or '.'"
          inputRef={first}
        />
        <Field
          id="register-password"
          label="Password"
          type="password"
          value={fields.password}
          onInput={set("password")}
          autocomplete="new-password"
          invalid={invalid("password")}
          hint="At least 6 characters"
        />
        <Field
          id="register-confirmPassword"
          label="Confirm password"
          type="password"
          value={fields.confirmPassword}
          onInput={set("confirmPassword")}
          autocomplete="new-password"
          invalid={invalid("confirmPassword")}
        />
        <Field
          id="register-email"
          label="Email (optional)"
          type="email"
          value={fields.email}
          onInput={set("email")}
          autocomplete="email"
          invalid={invalid("email")}
        />
        <Field
          id="register-displayName"
          label="Display name (optional)"
          value={fields.displayName}
          onInput={set("displayName")}
          autocomplete="name"
          invalid={invalid("displayName")}
        />
        {inviteRequired ? (
          <Field
            id="register-inviteCode"
            label="Invite code"
            value={fields.inviteCode}
            onInput={set("inviteCode")}
            autocomplete="off"
            invalid={invalid("inviteCode")}
            hint="Ask the person who runs this server for one."
          />
        ) : null}
        <div class="form-error" role="alert">
          {error?.message}
        </div>
        <button type="submit" class="primary wide" disabled={busy || inviteRequired === null}>
          {busy ? "Creating account…" : "Create account"}
        </button>
      </form>
      <p class="switch">
        Already have an account?{" "}
        <a href={routePath({ page: "login" }, props.basePath)} onClick={link(() => props.navigate({ page: "login" }))}>
          Sign in
        </a>
      </p>
    </AuthLayout>
  );
}
