// RFC 7692 §7.1: permessage-deflate negotiation tables, server side (offers → response) and
// client side (offer, and strict validation of the server's response).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HandshakeError } from "../../src/errors.js";
import {
  acceptDeflateResponse,
  deflateOffer,
  negotiateDeflate,
  resolveNegotiationOptions,
  type DeflateNegotiationOptions,
  type DeflateParams,
} from "../../src/protocol/permessage-deflate.js";

const DEFAULTS: DeflateParams = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};

describe("server negotiation (RFC 7692 §7.1)", () => {
  // [offer header, server options, expected response (undefined: declined), expected params]
  const table: Array<[string | undefined, DeflateNegotiationOptions, string | undefined, Partial<DeflateParams>?]> = [
    [undefined, {}, undefined],
    ["", {}, undefined],
    ["x-webkit-deflate-frame", {}, undefined],
    ["permessage-deflate", {}, "permessage-deflate", {}],
    ["permessage-deflate; client_max_window_bits", {}, "permessage-deflate", {}],
    ["permessage-deflate; client_max_window_bits=10", {}, "permessage-deflate; client_max_window_bits=10", { clientMaxWindowBits: 10 }],
    ['permessage-deflate; client_max_window_bits="9"', {}, "permessage-deflate; client_max_window_bits=9", { clientMaxWindowBits: 9 }],
    ["permessage-deflate; server_max_window_bits=8", {}, "permessage-deflate; server_max_window_bits=8", { serverMaxWindowBits: 8 }],
    [
      "permessage-deflate; server_no_context_takeover",
      {},
      "permessage-deflate; server_no_context_takeover",
      { serverNoContextTakeover: true },
    ],
    [
      "permessage-deflate; client_no_context_takeover",
      {},
      "permessage-deflate; client_no_context_takeover",
      { clientNoContextTakeover: true },
    ],
    [
      "permessage-deflate",
      { serverNoContextTakeover: true, clientNoContextTakeover: true },
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
      { serverNoContextTakeover: true, clientNoContextTakeover: true },
    ],
    ["permessage-deflate", { serverMaxWindowBits: 10 }, "permessage-deflate; server_max_window_bits=10", { serverMaxWindowBits: 10 }],
    [
      "permessage-deflate; server_max_window_bits=12",
      { serverMaxWindowBits: 10 },
      "permessage-deflate; server_max_window_bits=10",
      { serverMaxWindowBits: 10 },
    ],
    [
      "permessage-deflate; server_max_window_bits=9",
      { serverMaxWindowBits: 10 },
      "permessage-deflate; server_max_window_bits=9",
      { serverMaxWindowBits: 9 },
    ],
    [
      "permessage-deflate; client_max_window_bits",
      { clientMaxWindowBits: 11 },
      "permessage-deflate; client_max_window_bits=11",
      { clientMaxWindowBits: 11 },
    ],
    [
      "permessage-deflate; client_max_window_bits=9",
      { clientMaxWindowBits: 11 },
      "permessage-deflate; client_max_window_bits=9",
      { clientMaxWindowBits: 9 },
    ],
    // A client that did not offer client_max_window_bits cannot be limited: declined.
    ["permessage-deflate", { clientMaxWindowBits: 11 }, undefined],
    // Invalid offers are declined and the next one is considered.
    ["permessage-deflate; unknown_param", {}, undefined],
    ["permessage-deflate; server_no_context_takeover; server_no_context_takeover", {}, undefined],
    ["permessage-deflate; server_no_context_takeover=1", {}, undefined],
    ["permessage-deflate; client_no_context_takeover=true", {}, undefined],
    ["permessage-deflate; server_max_window_bits", {}, undefined],
    ["permessage-deflate; server_max_window_bits=7", {}, undefined],
    ["permessage-deflate; server_max_window_bits=16", {}, undefined],
    ["permessage-deflate; server_max_window_bits=010", {}, undefined],
    ["permessage-deflate; client_max_window_bits=0x9", {}, undefined],
    ["permessage-deflate; client_max_window_bits=10; client_max_window_bits=10", {}, undefined],
    [
      "permessage-deflate; bogus, permessage-deflate; client_max_window_bits=12",
      {},
      "permessage-deflate; client_max_window_bits=12",
      { clientMaxWindowBits: 12 },
    ],
    [
      "permessage-deflate; client_no_context_takeover, permessage-deflate",
      {},
      "permessage-deflate; client_no_context_takeover",
      { clientNoContextTakeover: true },
    ],
    [
      "foo; bar, permessage-deflate; server_max_window_bits=15",
      {},
      "permessage-deflate; server_max_window_bits=15",
      {},
    ],
    [
      "permessage-deflate; client_max_window_bits=8; server_max_window_bits=8; client_no_context_takeover; server_no_context_takeover",
      {},
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8; client_max_window_bits=8",
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 8, clientMaxWindowBits: 8 },
    ],
  ];
  for (const [offer, options, response, params] of table) {
    const label = `${JSON.stringify(offer)} with ${JSON.stringify(options)} → ${response === undefined ? "declined" : JSON.stringify(response)}`;
    it(label, () => {
      const agreement = negotiateDeflate(offer, options);
      if (response === undefined) {
        assert.equal(agreement, undefined);
        return;
      }
      assert.ok(agreement);
      assert.equal(agreement.response, response);
      assert.deepEqual(agreement.params, { ...DEFAULTS, ...params });
    });
  }

  it("answers 400 ERR_INVALID_EXTENSIONS for a malformed header", () => {
    for (const header of ["permessage-deflate;", "permessage-deflate; a=", 'permessage-deflate; a="', "a b"]) {
      assert.throws(
        () => negotiateDeflate(header, {}),
        (error: unknown) => error instanceof HandshakeError && error.status === 400 && error.code === "ERR_INVALID_EXTENSIONS",
        header,
      );
    }
  });

  it("every response the server writes is accepted by the client that made the offer", () => {
    const clientOptions: DeflateNegotiationOptions[] = [
      {},
      { clientNoContextTakeover: true },
      { serverNoContextTakeover: true },
      { serverMaxWindowBits: 9 },
      { clientMaxWindowBits: 8 },
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 12, clientMaxWindowBits: 10 },
    ];
    const serverOptions: DeflateNegotiationOptions[] = [
      {},
      { serverNoContextTakeover: true },
      { clientNoContextTakeover: true },
      { serverMaxWindowBits: 10, clientMaxWindowBits: 9 },
    ];
    for (const client of clientOptions) {
      for (const server of serverOptions) {
        const agreement = negotiateDeflate(deflateOffer(client), server);
        assert.ok(agreement, `${JSON.stringify(client)} / ${JSON.stringify(server)}`);
        assert.deepEqual(acceptDeflateResponse(agreement.response, client), agreement.params);
      }
    }
  });
});

describe("client offer and response validation (RFC 7692 §7)", () => {
  it("offers client_max_window_bits without a value by default, as browsers do", () => {
    assert.equal(deflateOffer(), "permessage-deflate; client_max_window_bits");
  });

  it("offers each parameter that was asked for", () => {
    assert.equal(
      deflateOffer({ clientNoContextTakeover: true, serverNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 9 }),
      "permessage-deflate; client_no_context_takeover; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9",
    );
  });

  const accepted: Array<[string, DeflateNegotiationOptions, Partial<DeflateParams> | undefined]> = [
    ["", {}, undefined],
    ["permessage-deflate", {}, {}],
    ["permessage-deflate; server_no_context_takeover", {}, { serverNoContextTakeover: true }],
    ["permessage-deflate; client_no_context_takeover", {}, { clientNoContextTakeover: true }],
    ["permessage-deflate", { clientNoContextTakeover: true }, { clientNoContextTakeover: true }],
    ["permessage-deflate; server_max_window_bits=9", {}, { serverMaxWindowBits: 9 }],
    ['permessage-deflate; server_max_window_bits="9"', {}, { serverMaxWindowBits: 9 }],
    ["permessage-deflate; client_max_window_bits=12", {}, { clientMaxWindowBits: 12 }],
    ["permessage-deflate; client_max_window_bits=8", { clientMaxWindowBits: 10 }, { clientMaxWindowBits: 8 }],
    ["permessage-deflate", { clientMaxWindowBits: 10 }, { clientMaxWindowBits: 10 }],
    ["permessage-deflate; server_max_window_bits=10", { serverMaxWindowBits: 10 }, { serverMaxWindowBits: 10 }],
    ["permessage-deflate; server_no_context_takeover", { serverNoContextTakeover: true }, { serverNoContextTakeover: true }],
  ];
  for (const [response, options, params] of accepted) {
    it(`accepts ${JSON.stringify(response)} to ${JSON.stringify(options)}`, () => {
      const result = acceptDeflateResponse(response, options);
      if (params === undefined) assert.equal(result, undefined);
      else assert.deepEqual(result, { ...DEFAULTS, ...params });
    });
  }

  const refused: Array<[string, DeflateNegotiationOptions]> = [
    ["permessage-deflate, permessage-deflate", {}],
    ["x-other", {}],
    ["permessage-deflate, x-other", {}],
    ["permessage-deflate; unknown", {}],
    ["permessage-deflate; server_no_context_takeover; server_no_context_takeover", {}],
    ["permessage-deflate; server_no_context_takeover=1", {}],
    ["permessage-deflate; client_max_window_bits", {}],
    ["permessage-deflate; client_max_window_bits=16", {}],
    ["permessage-deflate; server_max_window_bits", {}],
    ["permessage-deflate; server_max_window_bits=7", {}],
    ["permessage-deflate; client_max_window_bits=11", { clientMaxWindowBits: 10 }],
    ["permessage-deflate; server_max_window_bits=11", { serverMaxWindowBits: 10 }],
    ["permessage-deflate", { serverMaxWindowBits: 10 }],
    ["permessage-deflate", { serverNoContextTakeover: true }],
    ["permessage-deflate;", {}],
    ['permessage-deflate; server_max_window_bits="1 0"', {}],
  ];
  for (const [response, options] of refused) {
    it(`fails the connection on ${JSON.stringify(response)} to ${JSON.stringify(options)}`, () => {
      assert.throws(
        () => acceptDeflateResponse(response, options),
        (error: unknown) => error instanceof HandshakeError && error.code === "ERR_INVALID_EXTENSIONS" && error.status === 101,
      );
    });
  }
});

describe("negotiation options", () => {
  it("reject window bits outside 8-15 and non-boolean flags", () => {
    assert.throws(() => resolveNegotiationOptions({ serverMaxWindowBits: 7 }), RangeError);
    assert.throws(() => resolveNegotiationOptions({ clientMaxWindowBits: 16 }), RangeError);
    assert.throws(() => resolveNegotiationOptions({ clientMaxWindowBits: 9.5 }), RangeError);
    assert.throws(() => resolveNegotiationOptions({ serverNoContextTakeover: "yes" as unknown as boolean }), TypeError);
    assert.deepEqual(resolveNegotiationOptions({ serverMaxWindowBits: 8, clientMaxWindowBits: 15 }), {
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 8,
      clientMaxWindowBits: 15,
    });
  });
});
