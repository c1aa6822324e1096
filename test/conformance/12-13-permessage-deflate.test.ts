// Autobahn §12 (compression, different payloads) and §13 (compression, different parameters),
// plus the RFC 7692 failure cases, against `wynd echo --deflate`'s server. The client is the
// independent raw client: it compresses with node:zlib's one-shot deflate (each message on its
// own, which any agreement allows) and inflates the server's replies with a window of exactly the
// agreed server_max_window_bits — so a server using a larger window fails the case — and, when
// server_no_context_takeover was agreed, checks that every reply inflates on its own.
import assert from "node:assert/strict";
import { constants, createInflateRaw, type InflateRaw } from "node:zlib";
import { useEchoServer } from "../helpers/conformance-server.js";
import { compressMessage, deflateBomb, inflateMessage, TRAILER } from "../helpers/deflate-testing.js";
import {
  OP,
  RSV,
  closePayload,
  conformanceCase,
  connectRaw,
  handshake,
  handshakeRequest,
  header,
  makeKey,
  randomBytes,
  type RawClient,
  type Rng,
} from "../helpers/raw-client.js";

const LIMIT = 1024 * 1024;
const server = useEchoServer({ perMessageDeflate: true });
const limited = useEchoServer({ perMessageDeflate: true, maxMessageBytes: LIMIT });

/** The agreed parameters, read from the response header by the test's own plain parsing. */
interface Agreed {
  serverNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}

function agreedFrom(value: string | undefined): Agreed {
  assert.ok(value !== undefined, "the server accepted permessage-deflate");
  const [name, ...params] = value.split(";").map((s) => s.trim());
  assert.equal(name, "permessage-deflate");
  const agreed: Agreed = { serverNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
  for (const param of params) {
    const [key, raw] = param.split("=");
    if (key === "server_no_context_takeover") agreed.serverNoContextTakeover = true;
    else if (key === "server_max_window_bits") agreed.serverMaxWindowBits = Number(raw);
    else if (key === "client_max_window_bits") agreed.clientMaxWindowBits = Number(raw);
    else assert.equal(key, "client_no_context_takeover");
  }
  return agreed;
}

/** Inflates the server's messages in order, keeping the context (RFC 7692 §7.2.2). */
class ReplyInflater {
  readonly #stream: InflateRaw;
  #chunks: Buffer[] = [];

  constructor(windowBits: number) {
    this.#stream = createInflateRaw({ windowBits });
    this.#stream.on("data", (chunk: Buffer) => this.#chunks.push(chunk));
  }

  inflate(payload: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.#stream.once("error", reject);
      this.#stream.write(payload);
      this.#stream.write(TRAILER);
      this.#stream.flush(constants.Z_SYNC_FLUSH, () => {
        this.#stream.off("error", reject);
        const out = Buffer.concat(this.#chunks);
        this.#chunks = [];
        resolve(out);
      });
    });
  }

  close(): void {
    this.#stream.close();
  }
}

async function open(rng: Rng, offer: string, target = server.port): Promise<{ client: RawClient; agreed: Agreed; response: string }> {
  const client = await connectRaw(target, { rng, requestOptions: { headers: { "Sec-WebSocket-Extensions": offer } } });
  const response = header(client.response, "sec-websocket-extensions");
  return { client, agreed: agreedFrom(response), response: response! };
}

/**
 * Sends `messages` compressed (RSV1, one frame each), then reads the echoes: compressed (RSV1)
 * exactly when at least 1 KiB (the server's threshold), identical once inflated.
 */
async function exchange(client: RawClient, agreed: Agreed, messages: readonly Buffer[], binary: boolean): Promise<void> {
  const opcode = binary ? OP.BINARY : OP.TEXT;
  const frames = messages.map((m) => client.encode({ opcode, rsv: RSV.RSV1, payload: compressMessage(m, agreed.clientMaxWindowBits) }));
  client.send(Buffer.concat(frames));
  const inflater = new ReplyInflater(agreed.serverMaxWindowBits);
  try {
    for (const [i, message] of messages.entries()) {
      const frame = await client.readFrame();
      assert.equal(frame.opcode, opcode, `reply ${i}: opcode`);
      assert.equal(frame.fin, true, `reply ${i}: one frame`);
      const compressed = frame.rsv === RSV.RSV1;
      assert.ok(frame.rsv === 0 || compressed, `reply ${i}: only RSV1 may be set`);
      assert.equal(compressed, message.length >= 1024, `reply ${i} (${message.length} bytes): compressed from 1 KiB on`);
      if (!compressed) {
        assert.ok(frame.payload.equals(message), `reply ${i}`);
        continue;
      }
      if (agreed.serverNoContextTakeover) assert.ok(inflateMessage(frame.payload).equals(message), `reply ${i} stands alone`);
      assert.ok((await inflater.inflate(frame.payload)).equals(message), `reply ${i} inflates to the message`);
    }
  } finally {
    inflater.close();
  }
  await client.close();
}

const SIZES = [16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072];
const MESSAGES_PER_CASE = 20;

const WORDS = "the quick brown fox jumps over lazy dogs while wynd compresses every message it can".split(" ");

/** §12 payload kinds: what each message is made of. */
const PAYLOADS: Array<[string, boolean, (rng: Rng, size: number) => Buffer]> = [
  ["text, one repeated character", false, (_rng, size) => Buffer.alloc(size, "*")],
  ["binary, one repeated byte", true, (_rng, size) => Buffer.alloc(size, 0xfe)],
  [
    "text, words",
    false,
    (rng, size) => {
      let s = "";
      while (s.length < size) s += `${WORDS[rng() % WORDS.length]} `;
      return Buffer.from(s.slice(0, size));
    },
  ],
  [
    "binary, structured records",
    true,
    (rng, size) => {
      const out = Buffer.alloc(size);
      for (let i = 0; i + 8 <= size; i += 8) out.writeUInt32LE(i, i), out.writeUInt32LE(rng() % 1000, i + 4);
      return out;
    },
  ],
  ["binary, random (incompressible)", true, (rng, size) => randomBytes(rng, size)],
];

PAYLOADS.forEach(([kind, binary, make], k) => {
  SIZES.forEach((size, s) => {
    conformanceCase(`12.${k + 1}.${s + 1} ${MESSAGES_PER_CASE} compressed messages of ${size} bytes, ${kind}, echoed`, async ({ rng }) => {
      const { client, agreed } = await open(rng, "permessage-deflate; client_max_window_bits");
      const messages = Array.from({ length: MESSAGES_PER_CASE }, () => make(rng, size));
      await exchange(client, agreed, messages, binary);
    });
  });
});

/** §13 offers and what the server must answer. */
const OFFERS: Array<[string, string]> = [
  ["permessage-deflate", "permessage-deflate"],
  ["permessage-deflate; client_no_context_takeover", "permessage-deflate; client_no_context_takeover"],
  ["permessage-deflate; server_max_window_bits=8", "permessage-deflate; server_max_window_bits=8"],
  ["permessage-deflate; server_max_window_bits=15", "permessage-deflate; server_max_window_bits=15"],
  [
    "permessage-deflate; server_no_context_takeover; server_max_window_bits=8",
    "permessage-deflate; server_no_context_takeover; server_max_window_bits=8",
  ],
  [
    "permessage-deflate; server_no_context_takeover; server_max_window_bits=15",
    "permessage-deflate; server_no_context_takeover; server_max_window_bits=15",
  ],
  [
    "permessage-deflate; server_max_window_bits=7, permessage-deflate; server_no_context_takeover; client_max_window_bits=9, permessage-deflate",
    "permessage-deflate; server_no_context_takeover; client_max_window_bits=9",
  ],
  ["permessage-deflate; client_max_window_bits=8", "permessage-deflate; client_max_window_bits=8"],
  [
    'permessage-deflate; client_no_context_takeover; client_max_window_bits="10"; server_max_window_bits="11"',
    "permessage-deflate; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=10",
  ],
];

OFFERS.forEach(([offer, expected], o) => {
  SIZES.forEach((size, s) => {
    conformanceCase(`13.${o + 1}.${s + 1} offer "${offer}": 10 text messages of ${size} bytes`, async ({ rng }) => {
      const { client, agreed, response } = await open(rng, offer);
      assert.equal(response, expected);
      const messages = Array.from({ length: 10 }, (_, i) => Buffer.from(`${i} ${"abcdefgh".repeat(size)}`.slice(0, size)));
      await exchange(client, agreed, messages, false);
    });
  });
});

// ----- failure cases (RFC 7692 §6, §8; RFC 6455 §7.4.1) -----

conformanceCase("12.x.1 RSV1 on a continuation frame of a compressed message fails with 1002", async ({ rng }) => {
  const { client } = await open(rng, "permessage-deflate");
  const payload = compressMessage("split across two frames");
  client.sendFrame({ opcode: OP.TEXT, rsv: RSV.RSV1, fin: false, payload: payload.subarray(0, 5) });
  client.sendFrame({ opcode: OP.CONTINUATION, rsv: RSV.RSV1, payload: payload.subarray(5) });
  await client.expectClose(1002);
});

conformanceCase("12.x.2 RSV1 on a ping fails with 1002", async ({ rng }) => {
  const { client } = await open(rng, "permessage-deflate");
  client.sendFrame({ opcode: OP.PING, rsv: RSV.RSV1, payload: "x" });
  await client.expectClose(1002);
});

conformanceCase("12.x.3 RSV2 stays undefined with deflate negotiated: 1002", async ({ rng }) => {
  const { client } = await open(rng, "permessage-deflate");
  client.sendFrame({ opcode: OP.TEXT, rsv: RSV.RSV2, payload: "x" });
  await client.expectClose(1002);
});

conformanceCase("12.x.4 a fragmented compressed message (RSV1 on the first frame only) is echoed", async ({ rng }) => {
  const { client, agreed } = await open(rng, "permessage-deflate");
  const message = Buffer.from("fragments of a compressed message ".repeat(100));
  const payload = compressMessage(message);
  const third = Math.floor(payload.length / 3);
  client.sendFrame({ opcode: OP.TEXT, rsv: RSV.RSV1, fin: false, payload: payload.subarray(0, third) });
  client.sendFrame({ opcode: OP.PING, payload: "between" });
  client.sendFrame({ opcode: OP.CONTINUATION, fin: false, payload: payload.subarray(third, 2 * third) });
  client.sendFrame({ opcode: OP.CONTINUATION, payload: payload.subarray(2 * third) });
  await client.expectFrame({ opcode: OP.PONG, payload: "between" });
  const echo = await client.readFrame();
  assert.equal(echo.rsv, RSV.RSV1);
  const inflater = new ReplyInflater(agreed.serverMaxWindowBits);
  assert.ok((await inflater.inflate(echo.payload)).equals(message));
  inflater.close();
  await client.close();
});

conformanceCase("12.x.5 uncompressed messages still pass on a deflate connection", async ({ rng }) => {
  const { client } = await open(rng, "permessage-deflate");
  client.sendFrame({ opcode: OP.TEXT, payload: "plain" });
  await client.expectFrame({ opcode: OP.TEXT, payload: "plain" });
  await client.close();
});

conformanceCase("12.x.6 compressed text that inflates to invalid UTF-8 fails with 1007", async ({ rng }) => {
  const { client } = await open(rng, "permessage-deflate");
  client.sendFrame({ opcode: OP.TEXT, rsv: RSV.RSV1, payload: compressMessage(Buffer.from([0x61, 0xff, 0x62])) });
  await client.expectClose(1007);
});

conformanceCase("12.x.7 data that does not inflate fails with 1007", async ({ rng }) => {
  const { client } = await open(rng, "permessage-deflate");
  client.sendFrame({ opcode: OP.BINARY, rsv: RSV.RSV1, payload: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x12]) });
  await client.expectClose(1007);
});

conformanceCase("12.x.8 a decompression bomb (1.6 MB inflating to 258 MB) fails with 1009 under a 1 MiB limit", async ({ rng }) => {
  const { client } = await open(rng, "permessage-deflate", limited.port);
  // Under the wire limit: the 1 MiB applies to the inflated size.
  const bomb = deflateBomb(600_000); // 975 KB inflating to 155 MB
  client.sendFrame({ opcode: OP.BINARY, rsv: RSV.RSV1, payload: bomb });
  await client.expectClose(1009, { reason: `message too big (limit ${LIMIT} bytes)` });
});

conformanceCase("12.x.9 a message inflating to exactly the limit is echoed; one byte more fails with 1009", async ({ rng }) => {
  const { client } = await open(rng, "permessage-deflate", limited.port);
  client.sendFrame({ opcode: OP.BINARY, rsv: RSV.RSV1, payload: compressMessage(Buffer.alloc(LIMIT, 1)) });
  const echo = await client.readFrame();
  assert.equal(echo.rsv, RSV.RSV1);
  assert.equal(inflateMessage(echo.payload).length, LIMIT);
  client.sendFrame({ opcode: OP.BINARY, rsv: RSV.RSV1, payload: compressMessage(Buffer.alloc(LIMIT + 1, 1)) });
  await client.expectClose(1009, { reason: `message too big (limit ${LIMIT} bytes)` });
});

conformanceCase("12.x.10 compressed messages then a Close frame in one write: every echo, then the Close", async ({ rng }) => {
  const { client, agreed } = await open(rng, "permessage-deflate");
  const messages = Array.from({ length: 5 }, (_, i) => Buffer.from(`${i}`.repeat(5000)));
  client.send(
    Buffer.concat([
      ...messages.map((m) => client.encode({ opcode: OP.TEXT, rsv: RSV.RSV1, payload: compressMessage(m) })),
      client.encode({ opcode: OP.CLOSE, payload: closePayload(1000) }),
    ]),
  );
  const inflater = new ReplyInflater(agreed.serverMaxWindowBits);
  for (const message of messages) {
    const frame = await client.readFrame();
    assert.equal(frame.opcode, OP.TEXT);
    assert.ok((await inflater.inflate(frame.payload)).equals(message));
  }
  inflater.close();
  await client.expectClose(1000);
});

conformanceCase("12.x.11 a malformed Sec-WebSocket-Extensions header is refused with 400", async ({ rng }) => {
  for (const value of ["permessage-deflate;", 'permessage-deflate; a="b', "permessage-deflate; x=,"]) {
    const result = await handshake(server.port, {
      rng,
      request: handshakeRequest({ key: makeKey(rng), headers: { "Sec-WebSocket-Extensions": value } }),
    });
    assert.equal(result.response.status, 400, value);
  }
});

conformanceCase("12.x.12 offers with unknown, repeated or invalid parameters are declined, not refused", async ({ rng }) => {
  for (const offer of [
    "permessage-deflate; foo",
    "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    "permessage-deflate; server_max_window_bits=16",
    "permessage-deflate; client_no_context_takeover=1",
  ]) {
    const client = await connectRaw(server.port, { rng, requestOptions: { headers: { "Sec-WebSocket-Extensions": offer } } });
    assert.equal(header(client.response, "sec-websocket-extensions"), undefined, offer);
    // RSV1 is then undefined: 1002.
    client.sendFrame({ opcode: OP.TEXT, rsv: RSV.RSV1, payload: compressMessage("x") });
    await client.expectClose(1002);
  }
});
