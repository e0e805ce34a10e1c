import { describe, expect, it } from "vitest";
import { type RegisterFields, validateLogin, validateRegistration } from "./validate";

const GOOD: RegisterFields = {
  username: "alice",
  password: "secret1",
  confirmPassword: "secret1",
  email: "",
  displayName: "",
  inviteCode: "",
};

function message(change: Partial<RegisterFields>, inviteRequired = false): string | undefined {
  return validateRegistration({ ...GOOD, ...change }, inviteRequired)?.message;
}

describe("validateRegistration", () => {
  it("accepts a good registration", () => {
    expect(validateRegistration(GOOD, false)).toBeNull();
    expect(validateRegistration({ ...GOOD, inviteCode: "123", email: "a@b.co" }, true)).toBeNull();
  });

  it("says what the server would say, in the server's order", () => {
    expect(message({ username: "" })).toBe("Username and password are required");
    expect(message({ password: "", confirmPassword: "" })).toBe("Username and password are required");
    expect(message({ username: "ab" }, true)).toBe("Invalid invite code");
    expect(message({ username: "ab", password: "123" })).toBe("Username must be at least 3 characters");
    expect(message({ password: "12345", email: "bad" })).toBe("Password must be at least 6 characters");
    expect(message({ email: "not-an-email", username: "a".repeat(65) })).toBe("Invalid email format");
    expect(message({ username: "a".repeat(65) })).toBe("Username must be at most 64 characters");
    expect(message({ username: "al ice" })).toBe("Username may contain only letters, digits, '_', '-' and '.'");
    expect(message({ password: "p".repeat(257), confirmPassword: "p".repeat(257) })).toBe(
      "Password must be at most 256 characters",
    );
    expect(message({ email: `${"e".repeat(250)}@b.co` })).toBe("Email must be at most 254 characters");
    expect(message({ displayName: "d".repeat(101) })).toBe("Display name must be at most 100 characters");
    expect(message({ displayName: "a\0b" })).toBe("Fields must not contain NUL characters");
    expect(message({ confirmPassword: "other1" })).toBe("Passwords do not match");
  });

  it("counts characters as the server does (code points)", () => {
    expect(message({ displayName: "😀".repeat(100) })).toBeUndefined();
    expect(message({ username: "é".repeat(3) })).toBe("Username may contain only letters, digits, '_', '-' and '.'");
  });
});

describe("validateLogin", () => {
  it("needs both fields", () => {
    expect(validateLogin("", "x")).toBe("Username/email and password are required");
    expect(validateLogin("alice", "secret")).toBeNull();
  });
});
