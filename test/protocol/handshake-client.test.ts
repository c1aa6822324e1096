import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { HttpRequestParser, HttpResponseParser } from "../../src/protocol/http-parser.js";
import {
  buildClientRequest,
  generateKey,
  validateServerResponse,
} from "../../src/protocol/handshake-client.js";
import { buildAcceptResponse, computeAccept, validateUpgradeRequest } from "../../src/protocol/handshake.js";
import { rejects, responseHead as response, RFC_ACCEPT as ACCEPT, RFC_KEY as KEY } from "../helpers/handshake-testing.js";

describe("client requests", () => {
  test("buildClientRequest writes a minimal request byte for byte", () => {
    assert.equal(
      buildClientRequest({ host: "server.example.com", path: "/chat", key: KEY }).toString("latin1"),
      "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });

  test("buildClientRequest adds origin, protocols, extensions and extra headers in order", () => {
    const out = buildClientRequest({
      host: "localhost:8080",
      path: "/chat?room=a%20b",
      key: KEY,
      protocols: ["chat", "superchat"],
      extensions: "permessage-deflate; client_max_window_bits",
      origin: "http://example.com",
      headers: [["Authorization", "Bearer x"]],
    });
    assert.equal(
      out.toString("latin1"),
      "GET /chat?room=a%20b HTTP/1.1\r\nHost: localhost:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://example.com\r\n` +
        "Sec-WebSocket-Protocol: chat, superchat\r\n" +
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
        "Authorization: Bearer x\r\n\r\n",
    );
  });

  test("buildClientRequest throws a TypeError on an invalid path, host, key, protocol or injection", () => {
    const base = { host: "a", path: "/", key: KEY };
    for (const bad of [
      { path: "chat" }, { path: "/a b" }, { path: "/a\r\nX: y" }, { path: "/#frag" }, { path: "/\u00e9" },
      { host: "" }, { host: "a\r\nX: y" }, { host: "a b" }, { key: "short" }, { key: `${KEY}\r\n` },
      { protocols: ["a b"] }, { protocols: ["chat", "chat"] }, { protocols: [""] },
      { origin: "http://a\r\nX: y" }, { extensions: "x\ny" }, { headers: [["X", "\0"]] as const },
    ]) {
      assert.throws(() => buildClientRequest({ ...base, ...bad }), TypeError, JSON.stringify(bad));
    }
  });

  test("a client request and the server's answer round-trip through both parsers and validators", () => {
    const key = generateKey();
    const upgrade = validateUpgradeRequest(
      (() => {
        const r = new HttpRequestParser().push(buildClientRequest({ host: "h:1", path: "/p?q", key, protocols: ["x", "y"] }));
        assert.equal(r.state, "complete");
        if (r.state !== "complete") throw new Error("unreachable");
        return r.head;
      })(),
    );
    assert.deepEqual([upgrade.host, upgrade.path, upgrade.query, upgrade.protocols], ["h:1", "/p", "q", ["x", "y"]]);
    const answer = new HttpResponseParser().push(buildAcceptResponse(upgrade.key, { protocol: "y" }));
    assert.equal(answer.state, "complete");
    if (answer.state !== "complete") return;
    const accepted = validateServerResponse(answer.head, { key, protocols: ["x", "y"], extensionsOffered: false });
    assert.deepEqual([accepted.protocol, accepted.extensions], ["y", ""]);
  });
});

describe("validateServerResponse", () => {
  const OK = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
  const expected = { key: KEY, protocols: ["chat", "superchat"], extensionsOffered: true };
  const valid = (extra = "") => response(`${OK}Sec-WebSocket-Accept: ${ACCEPT}\r\n${extra}\r\n`);

  test("accepts the RFC 6455 §1.3 answer, with and without a protocol and extensions", () => {
    assert.deepEqual({ ...validateServerResponse(valid(), expected), headers: null },
      { protocol: "", extensions: "", headers: null });
    const full = validateServerResponse(
      valid("Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"), expected);
    assert.deepEqual([full.protocol, full.extensions], ["chat", "permessage-deflate"]);
    const relaxed = response(`HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: keep-alive, upgrade\r\nsec-websocket-accept: ${ACCEPT}\r\n\r\n`);
    assert.equal(validateServerResponse(relaxed, expected).protocol, "");
  });

  const defects: ReadonlyArray<readonly [string, string, string, number, typeof expected?]> = [
    ["a 403 status", `HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n`, "ERR_UNEXPECTED_STATUS", 403],
    ["a 200 status", `HTTP/1.1 200 OK\r\n\r\n`, "ERR_UNEXPECTED_STATUS", 200],
    ["HTTP/1.0", `HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${ACCEPT}\r\n\r\n`, "ERR_UNSUPPORTED_HTTP_VERSION", 101],
    ["a missing Upgrade", `HTTP/1.1 101 X\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${ACCEPT}\r\n\r\n`, "ERR_INVALID_UPGRADE", 101],
    ["an Upgrade of h2c", `HTTP/1.1 101 X\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${ACCEPT}\r\n\r\n`, "ERR_INVALID_UPGRADE", 101],
    ["an Upgrade with two protocols", `HTTP/1.1 101 X\r\nUpgrade: websocket, h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${ACCEPT}\r\n\r\n`, "ERR_INVALID_UPGRADE", 101],
    ["a missing Connection", `HTTP/1.1 101 X\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: ${ACCEPT}\r\n\r\n`, "ERR_INVALID_CONNECTION", 101],
    ["a Connection of close", `HTTP/1.1 101 X\r\nUpgrade: websocket\r\nConnection: close\r\nSec-WebSocket-Accept: ${ACCEPT}\r\n\r\n`, "ERR_INVALID_CONNECTION", 101],
    ["a missing accept", `${OK}\r\n`, "ERR_INVALID_ACCEPT", 101],
    ["a wrong accept", `${OK}Sec-WebSocket-Accept: ${computeAccept(generateKey())}\r\n\r\n`, "ERR_INVALID_ACCEPT", 101],
    ["an accept of another case", `${OK}Sec-WebSocket-Accept: ${ACCEPT.toLowerCase()}\r\n\r\n`, "ERR_INVALID_ACCEPT", 101],
    ["two accept lines", `${OK}Sec-WebSocket-Accept: ${ACCEPT}\r\nSec-WebSocket-Accept: ${ACCEPT}\r\n\r\n`, "ERR_INVALID_ACCEPT", 101],
    ["a protocol not offered", `${OK}Sec-WebSocket-Accept: ${ACCEPT}\r\nSec-WebSocket-Protocol: other\r\n\r\n`, "ERR_INVALID_PROTOCOL", 101],
    ["a protocol in another case", `${OK}Sec-WebSocket-Accept: ${ACCEPT}\r\nSec-WebSocket-Protocol: Chat\r\n\r\n`, "ERR_INVALID_PROTOCOL", 101],
    ["two protocols on one line", `${OK}Sec-WebSocket-Accept: ${ACCEPT}\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n`, "ERR_INVALID_PROTOCOL", 101],
    ["two protocol lines", `${OK}Sec-WebSocket-Accept: ${ACCEPT}\r\nSec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n\r\n`, "ERR_INVALID_PROTOCOL", 101],
    ["an empty protocol", `${OK}Sec-WebSocket-Accept: ${ACCEPT}\r\nSec-WebSocket-Protocol: \r\n\r\n`, "ERR_INVALID_PROTOCOL", 101],
    ["a protocol when none was offered", `${OK}Sec-WebSocket-Accept: ${ACCEPT}\r\nSec-WebSocket-Protocol: chat\r\n\r\n`, "ERR_INVALID_PROTOCOL", 101,
      { key: KEY, protocols: [], extensionsOffered: false }],
    ["extensions when none were offered", `${OK}Sec-WebSocket-Accept: ${ACCEPT}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n`, "ERR_UNEXPECTED_EXTENSIONS", 101,
      { key: KEY, protocols: [], extensionsOffered: false }],
  ];
  for (const [what, text, code, status, options = expected] of defects) {
    test(`fails the connection on ${what} (${code}, status ${status})`, () => {
      rejects(() => validateServerResponse(response(text), options), code, status);
    });
  }
});
