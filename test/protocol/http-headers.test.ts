import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { HttpHeaders, isToken } from "../../src/protocol/http-headers.js";

describe("HttpHeaders", () => {
  const headers = new HttpHeaders([
    ["Host", "example.com"],
    ["Connection", "keep-alive"],
    ["connection", " Upgrade ,, "],
    ["X-Empty", ""],
  ]);

  test("get is case-insensitive and joins several lines with a comma and a space", () => {
    assert.equal(headers.get("HOST"), "example.com");
    assert.equal(headers.get("Connection"), "keep-alive,  Upgrade ,, ");
    assert.equal(headers.get("x-empty"), "");
    assert.equal(headers.get("missing"), undefined);
  });

  test("getAll, count and has report every line carrying a name", () => {
    assert.deepEqual(headers.getAll("CONNECTION"), ["keep-alive", " Upgrade ,, "]);
    assert.deepEqual(headers.getAll("missing"), []);
    assert.equal(headers.count("connection"), 2);
    assert.equal(headers.count("missing"), 0);
    assert.equal(headers.has("x-EMPTY"), true);
    assert.equal(headers.has("missing"), false);
  });

  test("tokens splits every line on commas, trims whitespace and drops empty items", () => {
    assert.deepEqual(headers.tokens("connection"), ["keep-alive", "Upgrade"]);
    assert.deepEqual(headers.tokens("x-empty"), []);
    assert.deepEqual(new HttpHeaders([["A", "\tx\t,y , z"]]).tokens("a"), ["x", "y", "z"]);
  });

  test("toObject maps lower-cased names to the joined values, without a prototype", () => {
    const object = headers.toObject();
    assert.equal(Object.getPrototypeOf(object), null);
    assert.deepEqual({ ...object }, {
      host: "example.com",
      connection: "keep-alive,  Upgrade ,, ",
      "x-empty": "",
    });
  });

  test("fromRaw reads Node's rawHeaders layout and rejects an odd length", () => {
    const raw = HttpHeaders.fromRaw(["Host", "a", "Upgrade", "websocket"]);
    assert.deepEqual(raw.entries, [["Host", "a"], ["Upgrade", "websocket"]]);
    assert.throws(() => HttpHeaders.fromRaw(["Host"]), TypeError);
  });

  test("entries are a frozen copy that later changes to the source do not affect", () => {
    const source: Array<[string, string]> = [["A", "1"]];
    const copy = new HttpHeaders(source);
    source[0] = ["B", "2"];
    assert.deepEqual(copy.entries, [["A", "1"]]);
    assert.ok(Object.isFrozen(copy.entries) && Object.isFrozen(copy.entries[0]));
  });

  test("isToken accepts RFC 9110 tchars only", () => {
    assert.equal(isToken("permessage-deflate"), true);
    assert.equal(isToken("!#$%&'*+-.^_`|~09azAZ"), true);
    for (const bad of ["", "a b", "a,b", "a/b", "a:b", "\u00e9", "a\"", "(a)", "a\t"]) {
      assert.equal(isToken(bad), false, JSON.stringify(bad));
    }
  });
});
