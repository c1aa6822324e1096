// The chat's HTTP side: the three client files with their headers, and nothing else.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { request, type IncomingHttpHeaders } from "node:http";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { CONTENT_SECURITY_POLICY, DEFAULT_PUBLIC_DIR } from "../../src/chat/static-files.js";
import { startChat, tempDir, WAIT_MS } from "./helpers.js";

interface Response {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One HTTP request with the path sent exactly as given (no normalization). */
function fetchRaw(base: string, path: string, method = "GET"): Promise<Response> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, timeout: WAIT_MS }, (response) => {
      let body = "";
      response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    req.on("timeout", () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end();
  });
}

function assertSecurityHeaders(response: Response): void {
  assert.equal(response.headers["cache-control"], "no-cache");
  assert.equal(response.headers["x-content-type-options"], "nosniff");
  assert.equal(response.headers["content-security-policy"], CONTENT_SECURITY_POLICY);
  assert.equal(response.headers["referrer-policy"], "no-referrer");
}

describe("chat: static files", () => {
  it("serves index.html, the client's five scripts and style.css with their types and the security headers", async (t) => {
    const publicDir = tempDir(t);
    writeFileSync(join(publicDir, "index.html"), "<!doctype html><title>chat</title>");
    writeFileSync(join(publicDir, "app.js"), "// @ts-check\nconsole.log('é');\n");
    for (const script of ["connection.js", "state.js", "model.js", "view.js"]) writeFileSync(join(publicDir, script), `export {}; // ${script}\n`);
    writeFileSync(join(publicDir, "style.css"), "body { color: black }\n");
    const { http } = await startChat(t, { publicDir });
    const expected: Array<[string, string, string]> = [
      ["/", "text/html; charset=utf-8", "<!doctype html><title>chat</title>"],
      ["/?token=abc.def", "text/html; charset=utf-8", "<!doctype html><title>chat</title>"],
      ["/app.js", "text/javascript; charset=utf-8", "// @ts-check\nconsole.log('é');\n"],
      ["/style.css", "text/css; charset=utf-8", "body { color: black }\n"],
      ...["connection.js", "state.js", "model.js", "view.js"].map((script): [string, string, string] => [`/${script}`, "text/javascript; charset=utf-8", `export {}; // ${script}\n`]),
    ];
    for (const [path, type, body] of expected) {
      const response = await fetchRaw(http, path);
      assert.equal(response.status, 200, path);
      assert.equal(response.headers["content-type"], type);
      assert.equal(response.headers["content-length"], String(Buffer.byteLength(body)));
      assert.equal(response.body, body);
      assertSecurityHeaders(response);
    }
    assert.equal(CONTENT_SECURITY_POLICY, "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' blob: data:; style-src 'self'");
    const head = await fetchRaw(http, "/app.js", "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.headers["content-length"], String(Buffer.byteLength(expected[2]![2])));
    assert.equal(head.body, "");
  });

  it("answers 404 for every other path, traversal attempts included, and 405 for other methods", async (t) => {
    const publicDir = tempDir(t);
    writeFileSync(join(publicDir, "index.html"), "index");
    writeFileSync(join(publicDir, "secret.txt"), "secret");
    const { http } = await startChat(t, { publicDir });
    for (const path of [
      "/index.html",
      "/secret.txt",
      "/style.css", // listed, but missing from this directory
      "/../package.json",
      "/%2e%2e/%2e%2e/package.json",
      "/..%2fpackage.json",
      "//app.js",
      "/app.js/",
      "/APP.JS",
      "/constructor",
      "/__proto__",
    ]) {
      const response = await fetchRaw(http, path);
      assert.equal(response.status, 404, path);
      assert.equal(response.body, "not found\n");
      assertSecurityHeaders(response);
    }
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) {
      const response = await fetchRaw(http, "/", method);
      assert.equal(response.status, 405, method);
      assert.equal(response.headers["allow"], "GET, HEAD");
      assertSecurityHeaders(response);
    }
  });

  it("finds the client's files in src/chat/public by default, from the compiled module", () => {
    const root = new URL("../../../", import.meta.url);
    assert.equal(fileURLToPath(DEFAULT_PUBLIC_DIR), fileURLToPath(new URL("src/chat/public/", root)));
  });
});
