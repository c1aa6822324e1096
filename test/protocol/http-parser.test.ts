import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  HttpRequestParser,
  HttpResponseParser,
  parseHeaderBlock,
  type HeadParseResult,
  type HttpRequestHead,
  type HttpResponseHead,
} from "../../src/protocol/http-parser.js";
import type { HandshakeLimits } from "../../src/protocol/limits.js";
import { oneByteAtATime, randomChunks, seeded, splitAt, uniform, type Rng } from "../helpers/protocol-testing.js";

const BROWSER_HEAD =
  "GET /chat?room=lobby&x=1 HTTP/1.1\r\n" +
  "Host: example.com:8080\r\n" +
  "Connection: keep-alive, Upgrade\r\n" +
  "Pragma: no-cache\r\n" +
  "Cache-Control: no-cache\r\n" +
  "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)\r\n" +
  "Upgrade: websocket\r\n" +
  "Origin: http://example.com\r\n" +
  "Sec-WebSocket-Version: 13\r\n" +
  "Accept-Encoding: gzip, deflate, br\r\n" +
  "Accept-Language: en-US,en;q=0.9\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
  "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
  "Sec-WebSocket-Protocol: chat, superchat\r\n" +
  "\r\n";
/** RFC 6455 §5.7: a masked text frame "Hello", then an unmasked ping: the bytes after the head. */
const FRAMES = Buffer.from([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58, 0x89, 0x00]);
const BROWSER = Buffer.concat([Buffer.from(BROWSER_HEAD, "latin1"), FRAMES]);

const RESPONSE_HEAD =
  "HTTP/1.1 101 Switching Protocols\r\n" +
  "Upgrade: websocket\r\n" +
  "Connection: Upgrade\r\n" +
  "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
  "Sec-WebSocket-Protocol: chat\r\n" +
  "\r\n";

type AnyResult = HeadParseResult<HttpRequestHead> | HeadParseResult<HttpResponseHead>;
type AnyParser = { push(chunk: Buffer): AnyResult };

/** Feeds chunks until the head ends; returns the result and `rest` + the chunks never pushed. */
function feed(parser: AnyParser, chunks: readonly Buffer[]): { result: AnyResult; rest: Buffer } {
  let result: AnyResult = { state: "incomplete" };
  for (let i = 0; i < chunks.length; i++) {
    result = parser.push(chunks[i] ?? Buffer.alloc(0));
    if (result.state !== "incomplete") {
      const after = result.state === "complete" ? [result.rest, ...chunks.slice(i + 1)] : [];
      return { result, rest: Buffer.concat(after) };
    }
  }
  return { result, rest: Buffer.alloc(0) };
}

/** A comparable summary of a result, so that different chunkings can be compared deeply. */
function summary(out: { result: AnyResult; rest: Buffer }): unknown {
  const { result } = out;
  if (result.state === "incomplete") return { state: "incomplete" };
  if (result.state === "error") {
    return { state: "error", code: result.error.code, status: result.error.status };
  }
  const { headers, ...line } = result.head;
  return { state: "complete", line, entries: headers.entries, rest: out.rest.toString("hex") };
}

function bytes(text: string): Buffer {
  return Buffer.from(text, "latin1");
}

function parseRequest(text: string | Buffer, limits: Partial<HandshakeLimits> = {}): AnyResult {
  return new HttpRequestParser(limits).push(typeof text === "string" ? bytes(text) : text);
}

function assertError(result: AnyResult, code: string, status: number): void {
  assert.equal(result.state, "error", `expected ${code}, got ${result.state}`);
  if (result.state !== "error") return;
  assert.equal(result.error.code, code);
  assert.equal(result.error.status, status);
}

/** A valid request head of exactly `size` bytes, padded with a filler header. */
function requestOfSize(size: number): string {
  const prefix = "GET / HTTP/1.1\r\nHost: a\r\nX-Fill: ";
  const suffix = "\r\n\r\n";
  return prefix + "f".repeat(size - prefix.length - suffix.length) + suffix;
}

/** A test body given seeded numbers in [0, 1) and the generator they come from (see `seeded`). */
function withSeed(fn: (random: () => number, next: Rng) => void): () => void {
  return () => seeded((next) => fn(uniform(next), next));
}

describe("HttpRequestParser on a valid browser request", () => {
  const whole = summary(feed(new HttpRequestParser(), [BROWSER]));

  test("parses the request line and every header from one chunk", () => {
    const result = parseRequest(BROWSER);
    assert.equal(result.state, "complete");
    if (result.state !== "complete" || !("method" in result.head)) return;
    const { head } = result;
    assert.equal(head.method, "GET");
    assert.equal(head.target, "/chat?room=lobby&x=1");
    assert.equal(head.versionMajor, 1);
    assert.equal(head.versionMinor, 1);
    assert.equal(head.headers.entries.length, 13);
    assert.deepEqual(head.headers.entries[1], ["Connection", "keep-alive, Upgrade"]);
    assert.equal(head.headers.get("sec-websocket-key"), "dGhlIHNhbXBsZSBub25jZQ==");
    assert.deepEqual(head.headers.tokens("Sec-WebSocket-Protocol"), ["chat", "superchat"]);
  });

  test("returns the frames after the head as a view of the chunk, without copying it", () => {
    const result = parseRequest(BROWSER);
    assert.equal(result.state, "complete");
    if (result.state !== "complete") return;
    assert.deepEqual(result.rest, FRAMES);
    assert.equal(result.rest.buffer, BROWSER.buffer);
    assert.equal(result.rest.byteOffset, BROWSER.byteOffset + BROWSER_HEAD.length);
  });

  test("gives identical results at every split point into two chunks", () => {
    for (let i = 0; i <= BROWSER.length; i++) {
      assert.deepEqual(summary(feed(new HttpRequestParser(), splitAt(BROWSER, i))), whole, `split ${i}`);
    }
  });

  test("gives identical results when fed one byte at a time", () => {
    assert.deepEqual(summary(feed(new HttpRequestParser(), oneByteAtATime(BROWSER))), whole);
  });

  test("gives identical results with random chunk boundaries and empty chunks", withSeed((random, next) => {
    for (let round = 0; round < 200; round++) {
      const chunks = randomChunks(BROWSER, next, 40).flatMap((c) => (random() < 0.2 ? [Buffer.alloc(0), c] : [c]));
      assert.deepEqual(summary(feed(new HttpRequestParser(), chunks)), whole);
    }
  }));

  test("returns an empty rest when nothing follows the head", () => {
    const result = parseRequest(BROWSER_HEAD);
    assert.equal(result.state === "complete" && result.rest.length, 0);
  });

  test("ignores an empty line before the request line (RFC 9112 §2.2)", () => {
    const result = parseRequest(`\r\n${BROWSER_HEAD}`);
    assert.equal(result.state === "complete" && "method" in result.head && result.head.method, "GET");
  });

  test("keeps HTAB inside values and decodes obs-text as latin1", () => {
    const result = parseRequest("GET / HTTP/1.1\r\nX-A:\t a\tb \t\r\nX-B: caf\xe9\r\n\r\n");
    assert.equal(result.state, "complete");
    if (result.state !== "complete") return;
    assert.deepEqual(result.head.headers.entries, [["X-A", "a\tb"], ["X-B", "caf\u00e9"]]);
  });

  test("accepts an empty header value", () => {
    const result = parseRequest("GET / HTTP/1.1\r\nX-Empty:   \r\n\r\n");
    assert.equal(result.state === "complete" && result.head.headers.get("x-empty"), "");
  });
});

describe("HttpRequestParser rejections", () => {
  const cases: ReadonlyArray<readonly [string, string, string]> = [
    ["a bare LF ending a header line", "GET / HTTP/1.1\r\nHost: a\n\r\n", "ERR_BARE_LF"],
    ["a bare LF ending the head", "GET / HTTP/1.1\r\nHost: a\r\n\n", "ERR_BARE_LF"],
    ["a bare LF ending the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", "ERR_BARE_LF"],
    ["a lone LF before the request line", "\nGET / HTTP/1.1\r\n\r\n", "ERR_BARE_LF"],
    ["an obs-fold continuation with SP", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", "ERR_OBS_FOLD"],
    ["an obs-fold continuation with HTAB", "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", "ERR_OBS_FOLD"],
    ["whitespace between name and colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", "ERR_INVALID_HEADER_NAME"],
    ["an empty header name", "GET / HTTP/1.1\r\n: a\r\n\r\n", "ERR_INVALID_HEADER_NAME"],
    ["a header line without a colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", "ERR_INVALID_HEADER_NAME"],
    ["a separator in a header name", "GET / HTTP/1.1\r\nX(y): a\r\n\r\n", "ERR_INVALID_HEADER_NAME"],
    ["a non-ASCII header name", "GET / HTTP/1.1\r\nX\xe9: a\r\n\r\n", "ERR_INVALID_HEADER_NAME"],
    ["a NUL in a header value", "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", "ERR_INVALID_HEADER_VALUE"],
    ["a bare CR in a header value", "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", "ERR_INVALID_HEADER_VALUE"],
    ["a control character in a header value", "GET / HTTP/1.1\r\nX: a\x01\r\n\r\n", "ERR_INVALID_HEADER_VALUE"],
    ["a DEL in a header value", "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", "ERR_INVALID_HEADER_VALUE"],
    ["a lower-case HTTP name", "GET / http/1.1\r\n\r\n", "ERR_INVALID_REQUEST_LINE"],
    ["a two-digit version", "GET / HTTP/1.10\r\n\r\n", "ERR_INVALID_REQUEST_LINE"],
    ["a version without minor", "GET / HTTP/1\r\n\r\n", "ERR_INVALID_REQUEST_LINE"],
    ["a missing version", "GET /\r\n\r\n", "ERR_INVALID_REQUEST_LINE"],
    ["an empty target", "GET  HTTP/1.1\r\n\r\n", "ERR_INVALID_REQUEST_LINE"],
    ["an empty method", " / HTTP/1.1\r\n\r\n", "ERR_INVALID_REQUEST_LINE"],
    ["a separator in the method", "GE:T / HTTP/1.1\r\n\r\n", "ERR_INVALID_REQUEST_LINE"],
    ["a space inside the target", "GET /a b HTTP/1.1\r\n\r\n", "ERR_INVALID_REQUEST_LINE"],
    ["a control in the target", "GET /a\x01b HTTP/1.1\r\n\r\n", "ERR_INVALID_REQUEST_LINE"],
    ["a DEL in the target", "GET /a\x7f HTTP/1.1\r\n\r\n", "ERR_INVALID_REQUEST_LINE"],
    ["a trailing space after the version", "GET / HTTP/1.1 \r\n\r\n", "ERR_INVALID_REQUEST_LINE"],
    ["a tab as separator", "GET\t/ HTTP/1.1\r\n\r\n", "ERR_INVALID_REQUEST_LINE"],
  ];
  for (const [what, text, code] of cases) {
    test(`answers 400 ${code} to ${what}, however the bytes are split`, () => {
      const buf = bytes(text);
      assertError(parseRequest(buf), code, 400);
      assertError(feed(new HttpRequestParser(), oneByteAtATime(buf)).result, code, 400);
      for (let i = 0; i <= buf.length; i++) {
        assertError(feed(new HttpRequestParser(), splitAt(buf, i)).result, code, 400);
      }
    });
  }

  test("keeps returning the same error after an error", () => {
    const parser = new HttpRequestParser();
    const first = parser.push(bytes("GET / HTTP/1.1\nHost: a\r\n\r\n"));
    assert.equal(first.state, "error");
    assert.equal(parser.push(bytes("GET / HTTP/1.1\r\n\r\n")), first);
  });

  test("returns an ERR_PARSER_FINISHED error when pushed to after completing", () => {
    const parser = new HttpRequestParser();
    assert.equal(parser.push(bytes("GET / HTTP/1.1\r\n\r\n")).state, "complete");
    assertError(parser.push(FRAMES), "ERR_PARSER_FINISHED", 500);
  });

  test("throws a RangeError for invalid limits (caller misuse)", () => {
    assert.throws(() => new HttpRequestParser({ maxHeaderBytes: 0 }), RangeError);
    assert.throws(() => new HttpResponseParser({ maxHeaderCount: 1.5 }), RangeError);
  });
});

describe("HttpRequestParser limits", () => {
  const KIB16 = 16 * 1024;

  test("accepts a head of exactly maxHeaderBytes (16 KiB by default), frames after it included", () => {
    const head = bytes(requestOfSize(KIB16));
    assert.equal(head.length, KIB16);
    const result = parseRequest(Buffer.concat([head, FRAMES]));
    assert.equal(result.state, "complete");
    assert.deepEqual(result.state === "complete" && result.rest, FRAMES);
    assert.equal(feed(new HttpRequestParser(), oneByteAtATime(head)).result.state, "complete");
  });

  test("answers 431 to a head one byte over maxHeaderBytes, in one chunk or byte by byte", () => {
    const head = bytes(requestOfSize(KIB16 + 1));
    assertError(parseRequest(head), "ERR_HEADERS_TOO_LARGE", 431);
    assertError(feed(new HttpRequestParser(), oneByteAtATime(head)).result, "ERR_HEADERS_TOO_LARGE", 431);
  });

  test("answers 431 as soon as the buffered bytes exceed maxHeaderBytes without a terminator", () => {
    const parser = new HttpRequestParser({ maxHeaderBytes: 64 });
    const prefix = bytes(requestOfSize(200)).subarray(0, 64);
    assert.equal(parser.push(prefix.subarray(0, 40)).state, "incomplete");
    assert.equal(parser.push(prefix.subarray(40)).state, "incomplete");
    assertError(parser.push(bytes("f")), "ERR_HEADERS_TOO_LARGE", 431);
    assertError(parseRequest(Buffer.alloc(100_000, 0x61)), "ERR_REQUEST_LINE_TOO_LONG", 414);
    assertError(parseRequest(bytes(`GET / HTTP/1.1\r\nX: ${"a".repeat(100_000)}`)), "ERR_HEADERS_TOO_LARGE", 431);
  });

  test("honours a small custom maxHeaderBytes exactly at every split point", () => {
    for (const [size, state] of [[64, "complete"], [65, "error"]] as const) {
      const head = bytes(requestOfSize(size));
      for (let i = 0; i <= head.length; i++) {
        const { result } = feed(new HttpRequestParser({ maxHeaderBytes: 64 }), splitAt(head, i));
        assert.equal(result.state, state, `size ${size}, split ${i}`);
      }
    }
  });

  test("accepts exactly maxHeaderCount header lines (100 by default) and answers 431 to one more", () => {
    const request = (n: number) =>
      `GET / HTTP/1.1\r\n${Array.from({ length: n }, (_, i) => `X-${i}: v\r\n`).join("")}\r\n`;
    const ok = parseRequest(request(100));
    assert.equal(ok.state === "complete" && ok.head.headers.entries.length, 100);
    assertError(parseRequest(request(101)), "ERR_TOO_MANY_HEADERS", 431);
    assert.equal(parseRequest(request(3), { maxHeaderCount: 3 }).state, "complete");
    assertError(parseRequest(request(4), { maxHeaderCount: 3 }), "ERR_TOO_MANY_HEADERS", 431);
    assertError(feed(new HttpRequestParser({ maxHeaderCount: 3 }), oneByteAtATime(bytes(request(4)))).result,
      "ERR_TOO_MANY_HEADERS", 431);
  });

  test("CVE-2024-37890 regression: a request with 2,000 headers gets 431 and nothing throws", () => {
    const many = `GET / HTTP/1.1\r\n${"a: b\r\n".repeat(2000)}\r\n`;
    assertError(parseRequest(many), "ERR_TOO_MANY_HEADERS", 431);
    const big = `GET / HTTP/1.1\r\n${"x-header-name-long: value\r\n".repeat(2000)}\r\n`;
    assertError(parseRequest(big), "ERR_TOO_MANY_HEADERS", 431);
    assertError(parseRequest(big, { maxHeaderCount: 10_000 }), "ERR_HEADERS_TOO_LARGE", 431);
  });

  test("accepts a request line of exactly maxRequestLineBytes and answers 414 to one byte more", () => {
    const line = (n: number) => `GET /${"p".repeat(n - "GET / HTTP/1.1".length)} HTTP/1.1`;
    assert.equal(line(8192).length, 8192);
    assert.equal(parseRequest(`${line(8192)}\r\nHost: a\r\n\r\n`).state, "complete");
    assertError(parseRequest(`${line(8193)}\r\nHost: a\r\n\r\n`), "ERR_REQUEST_LINE_TOO_LONG", 414);
    for (const [n, state] of [[40, "complete"], [41, "error"]] as const) {
      const head = bytes(`${line(n)}\r\n\r\n`);
      for (let i = 0; i <= head.length; i++) {
        const { result } = feed(new HttpRequestParser({ maxRequestLineBytes: 40 }), splitAt(head, i));
        assert.equal(result.state, state, `length ${n}, split ${i}`);
        if (result.state === "error") assert.equal(result.error.status, 414);
      }
    }
  });

  test("answers 414 before the request line ends once it is too long", () => {
    const parser = new HttpRequestParser({ maxRequestLineBytes: 20 });
    assert.equal(parser.push(bytes(`GET /${"a".repeat(16)}`)).state, "incomplete");
    assertError(parser.push(bytes("aa")), "ERR_REQUEST_LINE_TOO_LONG", 414);
  });

  // These two take milliseconds in linear time and hours in quadratic time: the tests' timeouts
  // are the check (no stopwatch in the tests themselves, which a loaded machine would fail).
  test("CVE-2021-32640 regression: long runs of spaces in Sec-WebSocket-Protocol parse in linear time", { timeout: 60_000 }, () => {
    const spaces = " ".repeat(500_000);
    const text = `GET / HTTP/1.1\r\nSec-WebSocket-Protocol: a${spaces},${spaces}b${spaces}\r\n\r\n`;
    const result = parseRequest(text, { maxHeaderBytes: 2_000_000 });
    assert.equal(result.state, "complete");
    if (result.state !== "complete") return;
    assert.deepEqual(result.head.headers.tokens("sec-websocket-protocol"), ["a", "b"]);
  });

  test("stays linear when a large head arrives one byte at a time", { timeout: 60_000 }, () => {
    // 1 MiB: rescanning what came before at each byte would be 5 × 10^11 byte visits.
    const head = bytes(requestOfSize(1024 * 1024));
    const parser = new HttpRequestParser({ maxHeaderBytes: 1024 * 1024 });
    const { result } = feed(parser, oneByteAtATime(head));
    assert.equal(result.state, "complete");
  });
});

describe("HttpResponseParser", () => {
  const response = Buffer.concat([bytes(RESPONSE_HEAD), FRAMES]);
  const whole = summary(feed(new HttpResponseParser(), [response]));

  test("parses a 101 response and returns the frames after it", () => {
    const result = new HttpResponseParser().push(response);
    assert.equal(result.state, "complete");
    if (result.state !== "complete") return;
    assert.equal(result.head.status, 101);
    assert.equal(result.head.statusText, "Switching Protocols");
    assert.equal(result.head.versionMajor, 1);
    assert.equal(result.head.versionMinor, 1);
    assert.equal(result.head.headers.get("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert.deepEqual(result.rest, FRAMES);
  });

  test("gives identical results at every split point and one byte at a time", () => {
    for (let i = 0; i <= response.length; i++) {
      assert.deepEqual(summary(feed(new HttpResponseParser(), splitAt(response, i))), whole, `split ${i}`);
    }
    assert.deepEqual(summary(feed(new HttpResponseParser(), oneByteAtATime(response))), whole);
  });

  test("accepts an empty or missing reason phrase and a reason with HTAB and obs-text", () => {
    for (const [line, text] of [["HTTP/1.1 101", ""], ["HTTP/1.1 101 ", ""], ["HTTP/1.0 404 Not\tF\xf6und", "Not\tF\u00f6und"]]) {
      const result = new HttpResponseParser().push(bytes(`${line}\r\n\r\n`));
      assert.equal(result.state === "complete" && result.head.statusText, text, line);
    }
  });

  test("reports malformed status lines and limits with status 0", () => {
    for (const line of ["HTTP/1.1 99 X", "HTTP/1.1 600 X", "HTTP/1.1 1x1 X", "HTTP/1.1  101 X",
      "HTTP/1.1 101X", "http/1.1 101 X", "HTTP/1.1 101 a\x01", "ICY 200 OK", "HTTP/11 101 X"]) {
      assertError(new HttpResponseParser().push(bytes(`${line}\r\n\r\n`)), "ERR_INVALID_STATUS_LINE", 0);
    }
    assertError(new HttpResponseParser().push(bytes("HTTP/1.1 101 X\r\nA\r\n\r\n")), "ERR_INVALID_HEADER_NAME", 0);
    assertError(new HttpResponseParser({ maxRequestLineBytes: 10 }).push(bytes("HTTP/1.1 101 X\r\n\r\n")),
      "ERR_STATUS_LINE_TOO_LONG", 0);
    assertError(new HttpResponseParser({ maxHeaderBytes: 10 }).push(bytes(RESPONSE_HEAD)), "ERR_HEADERS_TOO_LARGE", 0);
    assertError(new HttpResponseParser({ maxHeaderCount: 3 }).push(bytes(RESPONSE_HEAD)), "ERR_TOO_MANY_HEADERS", 0);
    const done = new HttpResponseParser();
    done.push(bytes(RESPONSE_HEAD));
    assertError(done.push(FRAMES), "ERR_PARSER_FINISHED", 0);
  });
});

describe("HttpRequestParser on hostile input", () => {
  const ALPHABET = bytes("GET /HTP1.\r\n\r\n: \t,aZ\0\x7f\xff");

  test("never throws on seeded random garbage: only error, incomplete or complete", withSeed((random, next) => {
    for (let round = 0; round < 500; round++) {
      const length = Math.floor(random() * 300);
      const garbage = Buffer.from(Array.from({ length }, () =>
        random() < 0.7 ? (ALPHABET[Math.floor(random() * ALPHABET.length)] ?? 0) : Math.floor(random() * 256)));
      for (const parser of [new HttpRequestParser({ maxHeaderBytes: 200 }), new HttpResponseParser()]) {
        const { result } = feed(parser, randomChunks(garbage, next, 40));
        assert.ok(["error", "incomplete", "complete"].includes(result.state));
      }
    }
  }));

  test("gives the same result for mutated requests in one chunk, random chunks and byte by byte", withSeed((random, next) => {
    // Defaults, the browser head's exact sizes (521 bytes, 13 headers, a 33-byte request line),
    // and limits it exceeds, so that mutations land on both sides of every limit.
    const configs: ReadonlyArray<Partial<HandshakeLimits>> = [
      {},
      { maxHeaderBytes: 521, maxHeaderCount: 13, maxRequestLineBytes: 33 },
      { maxHeaderBytes: 300 },
      { maxHeaderCount: 5 },
      { maxRequestLineBytes: 20 },
    ];
    const seen = new Set<string>();
    for (let round = 0; round < 500; round++) {
      const limits = configs[round % configs.length] ?? {};
      const buf = Buffer.from(BROWSER);
      const edits = 1 + Math.floor(random() * 4);
      for (let e = 0; e < edits; e++) {
        buf[Math.floor(random() * buf.length)] = ALPHABET[Math.floor(random() * ALPHABET.length)] ?? 0;
      }
      const expected = summary(feed(new HttpRequestParser(limits), [buf]));
      assert.deepEqual(summary(feed(new HttpRequestParser(limits), randomChunks(buf, next, 40))), expected);
      assert.deepEqual(summary(feed(new HttpRequestParser(limits), oneByteAtATime(buf))), expected);
      const { result } = feed(new HttpRequestParser(limits), [buf]);
      seen.add(result.state === "error" ? result.error.code : result.state);
    }
    for (const outcome of ["complete", "ERR_HEADERS_TOO_LARGE", "ERR_TOO_MANY_HEADERS", "ERR_REQUEST_LINE_TOO_LONG"]) {
      assert.ok(seen.has(outcome), `no mutation ended in ${outcome}: ${[...seen].join(", ")}`);
    }
  }));
});

describe("parseHeaderBlock (a kept head, parsed again on demand)", () => {
  const heads = [
    BROWSER_HEAD,
    "\r\nGET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nX-Tab: a\tb \r\nX-Latin: caf\xe9\r\n\r\n",
    "GET / HTTP/1.1\r\n\r\n",
  ];
  for (const [index, text] of heads.entries()) {
    test(`gives the same headers as the parser for head ${index + 1}, from the head it keeps as raw`, () => {
      const result = new HttpRequestParser().push(Buffer.from(text + "\x81\x80", "latin1"));
      assert.equal(result.state, "complete");
      if (result.state !== "complete") return;
      assert.equal(result.head.raw, text);
      assert.deepEqual(parseHeaderBlock(result.head.raw!).entries, result.head.headers.entries);
    });
  }
});
