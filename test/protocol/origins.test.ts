// The allowedOrigins matching rules (src/protocol/origins.ts), as pure functions of strings.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileAllowedOrigins } from "../../src/protocol/origins.js";

describe("allowedOrigins matching", () => {
  const check = compileAllowedOrigins(["https://Chat.Example.com", "http://localhost:5173", "https://bücher.example", "wss://native.example:8443"]);

  it("allows an upgrade without Origin: it does not come from a browser page", () => {
    assert.equal(check(undefined, "anything"), true);
  });

  it("matches scheme, host and port exactly, host and scheme case-insensitive, default ports implied", () => {
    for (const origin of [
      "https://chat.example.com",
      "https://chat.example.com:443",
      "HTTPS://CHAT.EXAMPLE.COM",
      "http://localhost:5173",
      "https://xn--bcher-kva.example",
      "wss://native.example:8443",
    ]) {
      assert.equal(check(origin, "server.example"), true, origin);
    }
    for (const origin of [
      "http://chat.example.com", // another scheme
      "https://chat.example.com:8443", // another port
      "https://chat.example.com.evil.net", // a suffix
      "https://evilchat.example.com",
      "https://sub.chat.example.com",
      "http://localhost:5174",
      "http://localhost",
      "https://chat.example.com/",
      "https://chat.example.com/path",
      "https://user@chat.example.com",
      "https://chat.example.com, https://evil.net", // two Origin headers joined
      "null", // sandboxed frames, file: pages
      "",
    ]) {
      assert.equal(check(origin, "chat.example.com"), false, origin);
    }
  });

  it("matches 'self' against the request's Host header: host case-insensitive, a missing port the Origin scheme's default", () => {
    const self = compileAllowedOrigins(["self"]);
    assert.equal(self("http://localhost:8080", "localhost:8080"), true);
    assert.equal(self("http://LocalHost:8080", "localhost:8080"), true);
    assert.equal(self("http://localhost:8080", "LOCALHOST:8080"), true);
    assert.equal(self("https://chat.example.com", "chat.example.com"), true, "behind a TLS proxy: port 443 both ways");
    assert.equal(self("http://chat.example.com", "chat.example.com:80"), true);
    assert.equal(self("http://[::1]:8080", "[::1]:8080"), true);
    assert.equal(self("http://localhost:8081", "localhost:8080"), false, "another port is another origin");
    assert.equal(self("http://127.0.0.1:8080", "localhost:8080"), false, "another host name is another origin");
    assert.equal(self("https://chat.example.com", "chat.example.com:80"), false);
    assert.equal(self("http://evil.net", "chat.example.com"), false);
    assert.equal(self("null", "chat.example.com"), false);
    assert.equal(compileAllowedOrigins([])("http://localhost:8080", "localhost:8080"), false, "an empty list refuses every page");
  });

  it("refuses entries that are not origins with a TypeError", () => {
    for (const entry of ["example.com", "localhost:8080", "https://example.com/path", "https:example.com", "https://u@example.com", "https://example.com?x", "https://example.com#x", "*", "", 5]) {
      assert.throws(() => compileAllowedOrigins([entry as string]), TypeError, String(entry));
    }
    assert.throws(() => compileAllowedOrigins("https://example.com" as unknown as string[]), TypeError);
    assert.doesNotThrow(() => compileAllowedOrigins(["https://example.com/"]), "a trailing slash is how URLs print an origin");
  });
});
