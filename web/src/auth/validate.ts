/**
 * The server's registration checks (README "Errors"), in its order and with its messages, so
 * the form can say what is wrong before sending anything.
 */

export interface RegisterFields {
  username: string;
  password: string;
  confirmPassword: string;
  email: string;
  displayName: string;
  inviteCode: string;
}

export type RegisterField = keyof RegisterFields;

export interface FieldError {
  field: RegisterField;
  message: string;
}

const USERNAME_PATTERN = /^[A-Za-z0-9_.-]+$/;
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Length in Unicode code points, as the server (Python) counts it. */
function length(text: string): number {
  return [...text].length;
}

/** The first problem with a registration, or null when the server should accept it. */
export function validateRegistration(fields: RegisterFields, inviteRequired: boolean): FieldError | null {
  const { username, password, email, displayName, inviteCode } = fields;
  if (!username || !password) {
    return { field: username ? "password" : "username", message: "Username and password are required" };
  }
  if (inviteRequired && !inviteCode) return { field: "inviteCode", message: "Invalid invite code" };
  if (length(username) < 3) return { field: "username", message: "Username must be at least 3 characters" };
  if (length(password) < 6) return { field: "password", message: "Password must be at least 6 characters" };
  if (email && !EMAIL_PATTERN.test(email)) return { field: "email", message: "Invalid email format" };
  if (length(username) > 64) return { field: "username", message: "Username must be at most 64 characters" };
  if (!USERNAME_PATTERN.test(username)) {
    return { field: "username", message: "Username may contain only letters, digits, '_', '-' and '.'" };
  }
  if (length(password) > 256) return { field: "password", message: "Password must be at most 256 characters" };
  if (email && length(email) > 254) return { field: "email", message: "Email must be at most 254 characters" };
  if (length(displayName) > 100) {
    return { field: "displayName", message: "Display name must be at most 100 characters" };
  }
  for (const field of ["username", "password", "email", "displayName"] as const) {
    if (fields[field].includes("\0")) return { field, message: "Fields must not contain NUL characters" };
  }
  if (password !== fields.confirmPassword) return { field: "confirmPassword", message: "Passwords do not match" };
  return null;
}

/** The login form's check, with the server's message. */
export function validateLogin(usernameOrEmail: string, password: string): string | null {
  return usernameOrEmail && password ? null : "Username/email and password are required";
}
