"""The bad-input corpus: JSON bodies, values, path segments, query values and raw frames that
a careless or hostile client sends. Used by the HTTP and /ws tests alike."""

from __future__ import annotations

import json
from typing import Any

HUGE = "x" * 300_000
# Values that go into every field of every body and /ws command.
VALUES: dict[str, Any] = {
    "null": None,
    "zero": 0,
    "negative": -1,
    "int64 overflow": 2**64,
    "float": 1.5,
    "exponent": 1e308,
    "true": True,
    "list": [],
    "list of strings": ["a", "b"],
    "object": {},
    "mongo operator": {"$gt": ""},
    "empty string": "",
    "spaces": "   ",
    "long string": "y" * 10_000,
    "huge string": HUGE,
    "NUL": "a\x00b",
    "control characters": "\x01\x02\x1b[31m\r\n",
    "RTL override": "\u202egnp.exe",
    "zero-width and BOM": "\u200b\ufeffadmin",
    "emoji and combining": "👩‍💻e\u0301",
    "non-BMP and CJK": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 漢字",
    "SQL quote": "' OR '1'='1' --",
    "SQL drop": "x'); DROP TABLE users; --",
    "path traversal": "../../../../etc/passwd",
    "encoded traversal": "..%2f..%2f..%2fetc%2fpasswd",
    "path with NUL": "/etc/passwd\x00.png",
    "absolute path": "/proc/self/environ",
    "template": "{{7*7}}${7*7}<script>alert(1)</script>",
    "format string": "%s%s%n%x",
    "numeric string": "12345678901234567890",
    "deep object": json.loads("[" * 200 + "]" * 200),
}

# Raw bodies that are not the JSON their content type claims, or not JSON at all.
RAW_BODIES: dict[str, tuple[bytes, str]] = {
    "truncated object": (b'{"username": "a', "application/json"),
    "truncated after colon": (b'{"username":', "application/json"),
    "lone brace": (b"}", "application/json"),
    "missing comma": (b'{"username": "a" "password": "b"}', "application/json"),
    "trailing comma": (b'{"username": "a",}', "application/json"),
    "single quotes": (b"{'username': 'a'}", "application/json"),
    "NaN": (b'{"a": NaN}', "application/json"),
    "Infinity": (b'{"a": -Infinity}', "application/json"),
    "huge exponent": (b'{"a": 1e999999}', "application/json"),
    "huge integer": (b'{"a": ' + b"9" * 5000 + b"}", "application/json"),
    "null": (b"null", "application/json"),
    "array": (b"[]", "application/json"),
    "number": (b"1", "application/json"),
    "string": (b'"text"', "application/json"),
    "boolean": (b"true", "application/json"),
    "empty object": (b"{}", "application/json"),
    "empty body": (b"", "application/json"),
    "whitespace body": (b" \n\t ", "application/json"),
    "BOM then JSON": (b'\xef\xbb\xbf{"a": 1}', "application/json"),
    "invalid UTF-8": (b'{"username": "\xff\xfe"}', "application/json"),
    "UTF-16": ('{"a": 1}'.encode("utf-16"), "application/json"),
    "raw NUL byte": (b'{"a": "\x00"}', "application/json"),
    "lone surrogate escape": (
        b'{"username": "\\ud800", "password": "\\udfff"}',
        "application/json",
    ),
    "escaped NUL": (b'{"username": "a\\u0000b", "password": "secret-pass"}', "application/json"),
    "deep array": (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    "deep object": (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "application/json"),
    "duplicate keys": (b'{"password": "a", "password": ["b"]}', "application/json"),
    "prototype keys": (b'{"__proto__": {"isAdmin": true}, "constructor": 1}', "application/json"),
    "text/plain JSON": (b'{"a": 1}', "text/plain"),
    "form encoded": (b"username=a&password=b", "application/x-www-form-urlencoded"),
    "multipart": (
        b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--b--\r\n',
        "multipart/form-data; boundary=b",
    ),
    "no content type": (b'{"a": 1}', ""),
    "JSON with odd charset": (b'{"a": 1}', "application/json; charset=klingon"),
    "XML": (
        b"<?xml version='1.0'?><!DOCTYPE a [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><a>&x;</a>",
        "application/xml",
    ),  # noqa: E501
    "over 1 MiB": (b'{"a": "' + b"z" * (1024 * 1024) + b'"}', "application/json"),
}

# What a path parameter (a user or invite id) may be, already percent-encoded for the URL.
PATH_IDS: dict[str, str] = {
    "unknown": "nobody",
    "spaces": "%20%20",
    "SQL": "%27%20OR%201%3D1%20--",
    "traversal": "..%2F..%2Fetc%2Fpasswd",
    "dot dot": "..",
    "NUL": "a%00b",
    "percent garbage": "%zz%",
    "unicode": "%E2%80%AE%F0%9F%98%80",
    "long": "i" * 5000,
    "lone surrogate": "%ED%A0%80",
}

QUERY_VALUES: list[str] = [
    "",
    "0",
    "-1",
    "999999999999999999999",
    "1.5",
    "%00",
    "%zz",
    "%ED%A0%80",
    "%27%20OR%201%3D1",
    "x" * 4000,
    "7&days=8",
    "%E2%80%AE",
]


def json_bodies() -> dict[str, bytes]:
    """Per value: every known field set to it, plus the value as an unexpected extra field."""
    fields = ["username", "password", "usernameOrEmail", "inviteCode", "email", "displayName",
              "avatar", "dailyTokenLimit", "uses", "expiresIn", "note"]  # fmt: skip
    bodies = {}
    for name, value in VALUES.items():
        bodies[f"all fields {name}"] = json.dumps({field: value for field in fields}).encode()
        extra = {"usernameOrEmail": "admin", "password": "wrong-pass", "extra": value}
        bodies[f"extra field {name}"] = json.dumps(extra).encode()
    return bodies
