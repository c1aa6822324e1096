// RFC 6455 §9.1: the Sec-WebSocket-Extensions grammar, parsed and written back.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HandshakeError } from "../../src/errors.js";
import { formatExtension, parseExtensions } from "../../src/protocol/extensions.js";

describe("parseExtensions (RFC 6455 §9.1)", () => {
  const valid: Array<[string, unknown]> = [
    ["", []],
    ["   ", []],
    ["permessage-deflate", [{ name: "permessage-deflate", params: [] }]],
    [
      "permessage-deflate; client_max_window_bits",
      [{ name: "permessage-deflate", params: [["client_max_window_bits", true]] }],
    ],
    [
      "permessage-deflate;client_max_window_bits=10;server_no_context_takeover",
      [{ name: "permessage-deflate", params: [["client_max_window_bits", "10"], ["server_no_context_takeover", true]] }],
    ],
    [
      'permessage-deflate; server_max_window_bits="10"',
      [{ name: "permessage-deflate", params: [["server_max_window_bits", "10"]] }],
    ],
    [
      'x; a="b\\c"',
      [{ name: "x", params: [["a", "bc"]] }],
    ],
    [
      "permessage-deflate; a = 1 , foo ,bar;baz",
      [
        { name: "permessage-deflate", params: [["a", "1"]] },
        { name: "foo", params: [] },
        { name: "bar", params: [["baz", true]] },
      ],
    ],
    [", a, , b,", [{ name: "a", params: [] }, { name: "b", params: [] }]],
    ["a; x=1; x=2", [{ name: "a", params: [["x", "1"], ["x", "2"]] }]],
    ["a\t;\tb", [{ name: "a", params: [["b", true]] }]],
  ];
  for (const [header, expected] of valid) {
    it(`parses ${JSON.stringify(header)}`, () => {
      assert.deepEqual(parseExtensions(header), expected);
    });
  }

  const malformed = [
    ";",
    "a;",
    "a; =1",
    "a; b=",
    "a; b=\"\"",
    'a; b="1 2"',
    'a; b="unterminated',
    "a b",
    "a; b=1 2",
    "a; b=@",
    "a,,@",
    "a;;b",
    "é",
    'a; b="x\\',
  ];
  for (const header of malformed) {
    it(`refuses ${JSON.stringify(header)} with 400 ERR_INVALID_EXTENSIONS`, () => {
      assert.throws(
        () => parseExtensions(header),
        (error: unknown) =>
          error instanceof HandshakeError && error.status === 400 && error.code === "ERR_INVALID_EXTENSIONS",
      );
    });
  }
});

describe("formatExtension", () => {
  it("writes a name and its parameters, with and without values", () => {
    assert.equal(
      formatExtension({ name: "permessage-deflate", params: [["server_no_context_takeover", true], ["client_max_window_bits", "9"]] }),
      "permessage-deflate; server_no_context_takeover; client_max_window_bits=9",
    );
    assert.equal(formatExtension({ name: "x", params: [] }), "x");
  });

  it("round-trips through parseExtensions", () => {
    const element = { name: "permessage-deflate", params: [["a", true], ["b", "15"]] as const };
    assert.deepEqual(parseExtensions(formatExtension(element)), [{ name: element.name, params: [["a", true], ["b", "15"]] }]);
  });

  it("throws a TypeError for a name or value that is not a token", () => {
    assert.throws(() => formatExtension({ name: "a b", params: [] }), TypeError);
    assert.throws(() => formatExtension({ name: "a", params: [["b", "1;2"]] }), TypeError);
    assert.throws(() => formatExtension({ name: "a", params: [["", true]] }), TypeError);
  });
});
