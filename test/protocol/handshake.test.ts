import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { HandshakeError } from "../../src/errors.js";
import { HttpRequestParser, type HttpRequestHead } from "../../src/protocol/http-parser.js";
import {
  buildAcceptResponse,
  buildRejectResponse,
  computeAccept,
  generateKey,
  rejectResponseFor,
  validateUpgradeRequest,
} from "../../src/protocol/handshake.js";
import type { HandshakeLimits } from "../../src/protocol/limits.js";
import { rejects, RFC_ACCEPT as ACCEPT, RFC_KEY as KEY } from "../helpers/handshake-testing.js";

const BASE_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ["Host", "server.example.com"],
  ["Upgrade", "websocket"],
  ["Connection", "Upgrade"],
  ["Sec-WebSocket-Key", KEY],
  ["Origin", "http://example.com"],
  ["Sec-WebSocket-Protocol", "chat, superchat"],
  ["Sec-WebSocket-Version", "13"],
];

/** Parses a request built from a request line and header lines (the real parser, not a mock). */
function request(
  headers: ReadonlyArray<readonly [string, string]> = BASE_HEADERS,
  requestLine = "GET /chat HTTP/1.1",
  limits: Partial<HandshakeLimits> = {},
): HttpRequestHead {
  const text = `${requestLine}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`;
  const result = new HttpRequestParser(limits).push(Buffer.from(text, "latin1"));
  assert.equal(result.state, "complete", text.slice(0, 200));
  if (result.state !== "complete") throw new Error("unreachable");
  return result.head;
}

/** BASE_HEADERS with header `name` replaced by `values` (one line each; none removes it). */
function withHeader(name: string, ...values: string[]): Array<readonly [string, string]> {
  const at = BASE_HEADERS.findIndex(([n]) => n.toLowerCase() === name.toLowerCase());
  const rest = BASE_HEADERS.filter(([n]) => n.toLowerCase() !== name.toLowerCase());
  rest.splice(at === -1 ? rest.length : at, 0, ...values.map((v) => [name, v] as const));
  return rest;
}


describe("accept key", () => {
  test("computeAccept gives the RFC 6455 §1.3 example value", () => {
    assert.equal(computeAccept(KEY), ACCEPT);
  });

  test("generateKey returns fresh base64 of 16 random bytes that the server accepts", () => {
    const keys = new Set(Array.from({ length: 50 }, generateKey));
    assert.equal(keys.size, 50);
    for (const key of keys) {
      assert.equal(Buffer.from(key, "base64").length, 16);
      assert.equal(validateUpgradeRequest(request(withHeader("Sec-WebSocket-Key", key))).key, key);
    }
  });
});

describe("validateUpgradeRequest accepts", () => {
  test("the RFC 6455 §1.3 request, with every field extracted", () => {
    const upgrade = validateUpgradeRequest(request());
    assert.equal(upgrade.method, "GET");
    assert.equal(upgrade.target, "/chat");
    assert.equal(upgrade.path, "/chat");
    assert.equal(upgrade.query, "");
    assert.equal(upgrade.host, "server.example.com");
    assert.equal(upgrade.origin, "http://example.com");
    assert.equal(upgrade.key, KEY);
    assert.deepEqual(upgrade.protocols, ["chat", "superchat"]);
    assert.equal(upgrade.extensions, undefined);
    assert.equal(upgrade.headers.get("upgrade"), "websocket");
  });

  test("a target split into path and query at the first question mark", () => {
    const upgrade = validateUpgradeRequest(request(BASE_HEADERS, "GET /a/b?x=1&y=?2 HTTP/1.1"));
    assert.equal(upgrade.path, "/a/b");
    assert.equal(upgrade.query, "x=1&y=?2");
    assert.equal(validateUpgradeRequest(request(BASE_HEADERS, "GET /? HTTP/1.1")).query, "");
  });

  test("an absolute-form target, whose authority replaces Host (RFC 9112 §3.2.2)", () => {
    const upgrade = validateUpgradeRequest(request(BASE_HEADERS, "GET WS://other.example:81?q HTTP/1.1"));
    assert.deepEqual([upgrade.host, upgrade.path, upgrade.query], ["other.example:81", "/", "q"]);
    const https = validateUpgradeRequest(request(BASE_HEADERS, "GET https://[::1]:8443/x HTTP/1.1"));
    assert.deepEqual([https.host, https.path], ["[::1]:8443", "/x"]);
  });

  test("Upgrade and Connection as case-insensitive token lists over several lines", () => {
    const headers = withHeader("Connection", "keep-alive", "UPGRADE");
    const both = [...headers.filter(([n]) => n !== "Upgrade"), ["Upgrade", "h2c"], ["Upgrade", "WebSocket"]] as const;
    assert.equal(validateUpgradeRequest(request(both)).key, KEY);
    assert.equal(validateUpgradeRequest(request(withHeader("Connection", "keep-alive, Upgrade"))).key, KEY);
  });

  test("HTTP/1.2, a Content-Length of 0, no subprotocols and several extension lines", () => {
    assert.equal(validateUpgradeRequest(request(BASE_HEADERS, "GET / HTTP/1.2")).path, "/");
    assert.equal(validateUpgradeRequest(request([...BASE_HEADERS, ["Content-Length", "0"]])).key, KEY);
    assert.deepEqual(validateUpgradeRequest(request(withHeader("Sec-WebSocket-Protocol"))).protocols, []);
    const ext = withHeader("Sec-WebSocket-Extensions", "permessage-deflate", "x-foo; a=1");
    assert.equal(validateUpgradeRequest(request(ext)).extensions, "permessage-deflate, x-foo; a=1");
  });

  test("subprotocols over several lines with empty items", () => {
    const head = request(withHeader("Sec-WebSocket-Protocol", "a, ,b", "c"));
    assert.deepEqual(validateUpgradeRequest(head).protocols, ["a", "b", "c"]);
  });

  // A quadratic scan of these 3 MB would take hours: the test's timeout is the check (no
  // stopwatch in the test itself, which a loaded machine would make fail).
  test("CVE-2021-32640 regression: long runs of spaces in Sec-WebSocket-Protocol, in linear time", { timeout: 60_000 }, () => {
    const spaces = " ".repeat(1_000_000);
    const limits = { maxHeaderBytes: 4_000_000 };
    const valid = request(withHeader("Sec-WebSocket-Protocol", `chat${spaces},${spaces}superchat${spaces}`), undefined, limits);
    assert.deepEqual(validateUpgradeRequest(valid).protocols, ["chat", "superchat"]);
    const invalid = request(withHeader("Sec-WebSocket-Protocol", `b${spaces}x`), undefined, limits);
    rejects(() => validateUpgradeRequest(invalid), "ERR_INVALID_PROTOCOL", 400);
  });
});

describe("validateUpgradeRequest rejects", () => {
  const cases: ReadonlyArray<readonly [string, () => HttpRequestHead, string, number, Array<[string, string]>?]> = [
    ["a POST with 405 and Allow: GET", () => request(BASE_HEADERS, "POST /chat HTTP/1.1"), "ERR_METHOD_NOT_ALLOWED", 405, [["Allow", "GET"]]],
    ["a lower-case get with 405", () => request(BASE_HEADERS, "get /chat HTTP/1.1"), "ERR_METHOD_NOT_ALLOWED", 405, [["Allow", "GET"]]],
    ["HTTP/1.0 with 400 (same major version: not a 505, RFC 9110 §15.6.6)", () => request(BASE_HEADERS, "GET /chat HTTP/1.0"), "ERR_UNSUPPORTED_HTTP_VERSION", 400],
    ["HTTP/2.0 with 505", () => request(BASE_HEADERS, "GET /chat HTTP/2.0"), "ERR_UNSUPPORTED_HTTP_VERSION", 505],
    ["a missing Host with 400", () => request(withHeader("Host")), "ERR_INVALID_HOST", 400],
    ["a duplicate Host with 400", () => request(withHeader("Host", "a", "a")), "ERR_INVALID_HOST", 400],
    ["an empty Host with 400", () => request(withHeader("Host", "")), "ERR_INVALID_HOST", 400],
    ["a Host with a slash with 400", () => request(withHeader("Host", "a/b")), "ERR_INVALID_HOST", 400],
    ["an asterisk-form target with 400", () => request(BASE_HEADERS, "GET * HTTP/1.1"), "ERR_INVALID_TARGET", 400],
    ["an authority-form target with 400", () => request(BASE_HEADERS, "GET a.b:80 HTTP/1.1"), "ERR_INVALID_TARGET", 400],
    ["a ftp: absolute target with 400", () => request(BASE_HEADERS, "GET ftp://a/ HTTP/1.1"), "ERR_INVALID_TARGET", 400],
    ["an absolute target without host with 400", () => request(BASE_HEADERS, "GET ws:///x HTTP/1.1"), "ERR_INVALID_TARGET", 400],
    ["a fragment in the target with 400", () => request(BASE_HEADERS, "GET /chat#x HTTP/1.1"), "ERR_INVALID_TARGET", 400],
    ["a Transfer-Encoding with 400", () => request([...BASE_HEADERS, ["Transfer-Encoding", "chunked"]]), "ERR_UNEXPECTED_BODY", 400],
    ["a non-zero Content-Length with 400", () => request([...BASE_HEADERS, ["Content-Length", "5"]]), "ERR_UNEXPECTED_BODY", 400],
    ["a missing Upgrade with 400", () => request(withHeader("Upgrade")), "ERR_INVALID_UPGRADE", 400],
    ["an Upgrade without websocket with 400", () => request(withHeader("Upgrade", "h2c")), "ERR_INVALID_UPGRADE", 400],
    ["an Upgrade of websocket/13 with 400", () => request(withHeader("Upgrade", "websocket/13")), "ERR_INVALID_UPGRADE", 400],
    ["a missing Connection with 400", () => request(withHeader("Connection")), "ERR_INVALID_CONNECTION", 400],
    ["a Connection of keep-alive with 400", () => request(withHeader("Connection", "keep-alive")), "ERR_INVALID_CONNECTION", 400],
    ["a Connection of upgraded with 400", () => request(withHeader("Connection", "upgraded")), "ERR_INVALID_CONNECTION", 400],
  ];
  const V13: Array<[string, string]> = [["Sec-WebSocket-Version", "13"]];
  const versionCases: ReadonlyArray<readonly [string, string[]]> = [
    ["a missing version", []], ["version 8", ["8"]], ["version 13, 8 on one line", ["13, 8"]],
    ["version 13 on two lines", ["13", "13"]], ["version 013", ["013"]], ["an empty version", [""]],
  ];
  const keyCases: ReadonlyArray<readonly [string, string[]]> = [
    ["a missing key", []], ["a duplicate key", [KEY, KEY]], ["an empty key", [""]],
    ["a key of 15 bytes", [Buffer.alloc(15, 1).toString("base64")]],
    ["a key of 17 bytes", [Buffer.alloc(17, 1).toString("base64")]],
    ["a key with a non-canonical ending", ["dGhlIHNhbXBsZSBub25jZR=="]],
    ["a key with a URL-safe character", ["dGhlIHNhbXBsZSBub25j-Q=="]],
    ["a key without padding", ["dGhlIHNhbXBsZSBub25jZQ"]],
    ["a key that is not base64", ["not base64 at all !!!!=="]],
  ];
  const protocolCases: ReadonlyArray<readonly [string, string[]]> = [
    ["an empty subprotocol list", [""]], ["a list of empty items", [" , ,"]],
    ["a duplicate subprotocol", ["chat, chat"]], ["a duplicate across lines", ["chat", "chat"]],
    ["a subprotocol with a separator", ["chat/1"]], ["a subprotocol with a space", ["chat v2"]],
    ["a non-ASCII subprotocol", ["ch\xe4t"]],
  ];

  for (const [what, head, code, status, headers = []] of cases) {
    test(`${what} (${code})`, () => rejects(() => validateUpgradeRequest(head()), code, status, headers));
  }
  for (const [what, values] of versionCases) {
    test(`${what} with 426 and Sec-WebSocket-Version: 13`, () => {
      rejects(() => validateUpgradeRequest(request(withHeader("Sec-WebSocket-Version", ...values))),
        "ERR_UNSUPPORTED_WEBSOCKET_VERSION", 426, V13);
    });
  }
  for (const [what, values] of keyCases) {
    test(`${what} with 400`, () => {
      rejects(() => validateUpgradeRequest(request(withHeader("Sec-WebSocket-Key", ...values))), "ERR_INVALID_KEY", 400);
    });
  }
  for (const [what, values] of protocolCases) {
    test(`${what} with 400`, () => {
      rejects(() => validateUpgradeRequest(request(withHeader("Sec-WebSocket-Protocol", ...values))),
        "ERR_INVALID_PROTOCOL", 400);
    });
  }
});

describe("server responses", () => {
  test("buildAcceptResponse writes the RFC 6455 §1.3 answer byte for byte", () => {
    assert.equal(
      buildAcceptResponse(KEY).toString("latin1"),
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${ACCEPT}\r\n\r\n`,
    );
  });

  test("buildAcceptResponse adds the protocol, extensions and extra headers in order", () => {
    const out = buildAcceptResponse(KEY, {
      protocol: "chat",
      extensions: "permessage-deflate; server_no_context_takeover",
      headers: [["Set-Cookie", "a=b"], ["X-Server", "wynd"]],
    });
    assert.equal(
      out.toString("latin1"),
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${ACCEPT}\r\nSec-WebSocket-Protocol: chat\r\n` +
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n" +
        "Set-Cookie: a=b\r\nX-Server: wynd\r\n\r\n",
    );
    assert.deepEqual(buildAcceptResponse(KEY, { protocol: "", extensions: "" }), buildAcceptResponse(KEY));
  });

  test("buildAcceptResponse throws a TypeError on header injection or an invalid protocol", () => {
    for (const options of [
      { protocol: "chat\r\nX: y" }, { protocol: "a b" }, { extensions: "x\r\nSet-Cookie: a" },
      { extensions: "x\0" }, { headers: [["X", "a\nb"]] as const }, { headers: [["X Y", "a"]] as const },
      { headers: [["X\r\n", "a"]] as const }, { headers: [["X", "\u0100"]] as const },
    ]) {
      assert.throws(() => buildAcceptResponse(KEY, options), TypeError, JSON.stringify(options));
    }
  });

  test("buildRejectResponse writes a plain-text refusal byte for byte", () => {
    assert.equal(
      buildRejectResponse(400).toString("latin1"),
      "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n" +
        "Content-Length: 11\r\n\r\nBad Request",
    );
    assert.equal(
      buildRejectResponse(403, { body: "Nö ✓", headers: [["X-Reason", "origin"]] }).toString("utf8"),
      "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n" +
        "Content-Length: 7\r\nX-Reason: origin\r\n\r\nNö ✓",
    );
    assert.equal(
      buildRejectResponse(499, { body: "" }).toString("latin1"),
      "HTTP/1.1 499 \r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n" +
        "Content-Length: 0\r\n\r\n",
    );
    assert.match(buildRejectResponse(499).toString("latin1"), /\r\n\r\n499$/);
  });

  test("buildRejectResponse refuses statuses that cannot carry a refusal, framing headers and injection", () => {
    for (const status of [101, 200, 304, 600, 99, 400.5, Number.NaN]) {
      assert.throws(() => buildRejectResponse(status), RangeError, String(status));
    }
    assert.throws(() => buildRejectResponse(400, { headers: [["Content-Length", "1"]] }), TypeError);
    assert.throws(() => buildRejectResponse(400, { headers: [["transfer-encoding", "chunked"]] }), TypeError);
    assert.throws(() => buildRejectResponse(400, { headers: [["X", "a\r\n\r\nHTTP/1.1 200 OK"]] }), TypeError);
  });

  test("rejectResponseFor answers each refusal with its status, headers and message", () => {
    const refusals: Array<[() => HttpRequestHead, string]> = [
      [() => request(BASE_HEADERS, "POST / HTTP/1.1"),
        "HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n" +
        "Content-Length: 36\r\nAllow: GET\r\n\r\nthe WebSocket handshake requires GET"],
      [() => request(withHeader("Sec-WebSocket-Version", "8")),
        "HTTP/1.1 426 Upgrade Required\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n" +
        "Content-Length: 32\r\nSec-WebSocket-Version: 13\r\n\r\nSec-WebSocket-Version must be 13"],
    ];
    for (const [head, expected] of refusals) {
      assert.throws(() => validateUpgradeRequest(head()), (error: unknown) => {
        assert.ok(error instanceof HandshakeError);
        assert.equal(rejectResponseFor(error).toString("latin1"), expected);
        return true;
      });
    }
    const parsed = new HttpRequestParser().push(Buffer.from(`GET / HTTP/1.1\r\n${"a: b\r\n".repeat(2000)}\r\n`));
    assert.equal(parsed.state, "error");
    if (parsed.state !== "error") return;
    assert.match(rejectResponseFor(parsed.error).toString("latin1"), /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  });
});

describe("a validated request kept by a connection", () => {
  test("has the same headers whether it was parsed from bytes (kept as text) or given as headers", () => {
    const parsed = request();
    assert.ok(parsed.raw !== undefined);
    const fromBytes = validateUpgradeRequest(parsed);
    const { raw: _raw, ...withoutRaw } = parsed;
    const fromHeaders = validateUpgradeRequest(withoutRaw);
    assert.deepEqual(fromBytes.headers.entries, parsed.headers.entries);
    assert.deepEqual(fromHeaders.headers.entries, parsed.headers.entries);
    assert.equal(fromBytes.headers, fromBytes.headers, "parsed once, then cached");
    assert.equal(fromBytes.headers.get("origin"), fromBytes.origin);
    assert.deepEqual(fromBytes.protocols, ["chat", "superchat"]);
  });
});
