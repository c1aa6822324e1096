/**
 * The micro-benchmark cases: mask, UTF-8, encoder, parser, handshake — each optimised function of
 * `src/protocol/` next to the plain reference of `./reference.ts`, on the inputs the load
 * scenarios produce (32 B text frames pipelined 16 per chunk, 64 KiB binary frames, a browser-like
 * upgrade request).
 *
 * @module
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  buildAcceptResponse,
  encodeFrame,
  encodeFrameHeader,
  encodeFrameInto,
  encodeTextFrame,
  FrameParser,
  HttpRequestParser,
  isValidUtf8,
  maskInto,
  Opcode,
  unmaskInPlace,
  Utf8Validator,
  validateUpgradeRequest,
  type FrameParserHandler,
} from "../../src/protocol/index.js";
import type { MicroCase } from "./harness.js";
import {
  referenceEncodeFrame,
  referenceHandshake,
  referenceIsUtf8,
  ReferenceParser,
  referenceUnmask,
  referenceUtf8Step,
} from "./reference.js";

const KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

function pattern(size: number, seed = 7): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** A view at an odd offset, as a socket chunk gives a payload. */
function misaligned(size: number): Buffer {
  return pattern(size + 1).subarray(1);
}

function maskCases(): MicroCase[] {
  return [16, 125, 1024, 64 * 1024, 1024 * 1024].map((size) => {
    const data = misaligned(size);
    return {
      group: "mask",
      name: `unmask in place, ${label(size)}`,
      bytes: size,
      optimized: () => unmaskInPlace(data, KEY, 0),
      reference: () => referenceUnmask(data, KEY),
      check: () => {
        const a = Buffer.from(data);
        const b = Buffer.from(data);
        unmaskInPlace(a, KEY, 0);
        referenceUnmask(b, KEY);
        deepStrictEqual(a, b);
      },
    };
  }).concat(
    [125, 64 * 1024].map((size) => {
      const source = pattern(size);
      const target = Buffer.allocUnsafe(size + 6);
      return {
        group: "mask",
        name: `mask into a frame, ${label(size)}`,
        bytes: size,
        optimized: () => maskInto(source, target, 6, KEY, 0),
        reference: () => {
          for (let i = 0; i < size; i++) target[6 + i] = source[i]! ^ KEY[i % 4]!;
        },
        check: () => {
          const a = Buffer.alloc(size + 6);
          maskInto(source, a, 6, KEY, 0);
          const b = Buffer.from(source);
          referenceUnmask(b, KEY);
          deepStrictEqual(a.subarray(6), b);
        },
      };
    }),
    // A payload spanning reads, copied out of a socket chunk and unmasked: one pass when source
    // and target are equally aligned (the frame parser arranges it), versus memcpy + a pass.
    [1024, 64 * 1024].flatMap((size) => {
      const source = misaligned(size);
      const target = Buffer.allocUnsafe(size + 8);
      const at = 1; // the same address mod 4 as the source: target is 8-aligned, source at 1
      const reference = () => {
        for (let i = 0; i < size; i++) target[at + i] = source[i]! ^ KEY[i % 4]!;
      };
      const check = (copy: () => void) => () => {
        target.fill(0);
        copy();
        const b = Buffer.from(source);
        referenceUnmask(b, KEY);
        deepStrictEqual(target.subarray(at, at + size), b);
      };
      const onePass = () => maskInto(source, target, at, KEY, 0);
      const twoPasses = () => {
        target.set(source, at);
        unmaskInPlace(target.subarray(at, at + size), KEY, 0);
      };
      return [
        { group: "mask", name: `copy + unmask ${label(size)}, one pass`, bytes: size, optimized: onePass, reference, check: check(onePass) },
        { group: "mask", name: `copy + unmask ${label(size)}, memcpy + pass`, bytes: size, optimized: twoPasses, reference, check: check(twoPasses) },
      ];
    }),
  );
}

function utf8Cases(): MicroCase[] {
  const ascii32 = Buffer.from("The quick brown fox jumps over t", "utf8");
  const ascii64k = Buffer.from("a".repeat(64 * 1024), "utf8");
  const mixed = Buffer.from("héllo wörld — 日本語 テキスト 🎉 ".repeat(2000), "utf8").subarray(0, 64 * 1024 - 3);
  const mixedValid = Buffer.from(mixed.toString("utf8").replace(/\uFFFD+$/u, ""), "utf8");
  const invalid = [Buffer.from([0xc0, 0x80]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xf4, 0x90, 0x80, 0x80]), Buffer.from([0xe2, 0x82])];
  const whole = [
    ["ASCII 32 B", ascii32],
    ["ASCII 64 KiB", ascii64k],
    ["mixed 64 KiB", mixedValid],
  ] as const;
  const cases: MicroCase[] = whole.map(([name, data]) => ({
    group: "utf8",
    name: `validate ${name}`,
    bytes: data.length,
    optimized: () => isValidUtf8(data),
    reference: () => referenceIsUtf8(data),
    check: () => {
      ok(isValidUtf8(data) && referenceIsUtf8(data));
      for (const bad of invalid) strictEqual(isValidUtf8(bad), referenceIsUtf8(bad));
    },
  }));
  // A fragmented message: 4 fragments cut inside multi-byte sequences.
  const quarter = Math.floor(mixedValid.length / 4) + 1;
  const fragments = [0, 1, 2, 3].map((i) => mixedValid.subarray(i * quarter, (i + 1) * quarter));
  const streamingOptimized = () => {
    const v = new Utf8Validator();
    for (const f of fragments) if (!v.push(f)) return false;
    return v.end();
  };
  const streamingReference = () => {
    const state = { needed: 0, low: 0x80, high: 0xbf };
    for (const f of fragments) for (let i = 0; i < f.length; i++) if (!referenceUtf8Step(state, f[i]!)) return false;
    return state.needed === 0;
  };
  cases.push({
    group: "utf8",
    name: "streaming, 64 KiB mixed in 4 fragments",
    bytes: mixedValid.length,
    optimized: streamingOptimized,
    reference: streamingReference,
    check: () => ok(streamingOptimized() && streamingReference()),
  });
  return cases;
}

function encoderCases(): MicroCase[] {
  const payload32 = Buffer.from("The quick brown fox jumps over t", "utf8");
  const text32 = payload32.toString("utf8");
  const payload64k = pattern(64 * 1024);
  const batch = Buffer.alloc(16 * 34);
  return [
    {
      group: "encoder",
      name: "server frame, 32 B bytes",
      bytes: 32,
      optimized: () => encodeFrame(Opcode.TEXT, payload32, true, false),
      reference: () => referenceEncodeFrame(Opcode.TEXT, payload32, false),
      check: () => deepStrictEqual(encodeFrame(Opcode.TEXT, payload32, true, false), referenceEncodeFrame(Opcode.TEXT, payload32, false)),
    },
    {
      group: "encoder",
      name: "server frame, 32-char string",
      bytes: 32,
      optimized: () => encodeTextFrame(text32, true, false),
      reference: () => referenceEncodeFrame(Opcode.TEXT, Buffer.from(text32, "utf8"), false),
      check: () => deepStrictEqual(encodeTextFrame(text32, true, false), referenceEncodeFrame(Opcode.TEXT, payload32, false)),
    },
    {
      // What a connection does with the echoes of one read: 16 frames into one buffer, versus a
      // Buffer per frame joined by Buffer.concat (the reference, and wynd before the slab).
      group: "encoder",
      name: "16 server frames of 32 B into one buffer",
      bytes: 16 * 32,
      optimized: () => {
        let at = 0;
        for (let i = 0; i < 16; i++) at = encodeFrameInto(batch, at, Opcode.TEXT, payload32, 32, true);
        return at;
      },
      reference: () => Buffer.concat(Array.from({ length: 16 }, () => referenceEncodeFrame(Opcode.TEXT, payload32, false))),
      check: () => {
        let at = 0;
        for (let i = 0; i < 16; i++) at = encodeFrameInto(batch, at, Opcode.TEXT, i % 2 === 0 ? payload32 : text32, 32, true);
        deepStrictEqual(batch.subarray(0, at), Buffer.concat(Array.from({ length: 16 }, () => referenceEncodeFrame(Opcode.TEXT, payload32, false))));
      },
    },
    {
      group: "encoder",
      name: "client frame (masked), 32 B",
      bytes: 32,
      optimized: () => encodeFrame(Opcode.TEXT, payload32, true, true),
      reference: () => referenceEncodeFrame(Opcode.TEXT, payload32, true, KEY),
      check: () => {
        const frame = encodeFrame(Opcode.TEXT, payload32, true, true);
        const body = Buffer.from(frame.subarray(6));
        referenceUnmask(body, frame.subarray(2, 6));
        deepStrictEqual(body, payload32);
      },
    },
    {
      group: "encoder",
      name: "server frame, 64 KiB (header only, payload not copied)",
      bytes: 64 * 1024,
      optimized: () => [encodeFrameHeader(Opcode.BINARY, payload64k.length, true), payload64k],
      reference: () => referenceEncodeFrame(Opcode.BINARY, payload64k, false),
      check: () =>
        deepStrictEqual(
          Buffer.concat([encodeFrameHeader(Opcode.BINARY, payload64k.length, true), payload64k]),
          referenceEncodeFrame(Opcode.BINARY, payload64k, false),
        ),
    },
  ];
}

/** Counts messages (and keeps the last) for the optimised parser. */
class CountingHandler implements FrameParserHandler {
  messages = 0;
  last: Buffer | undefined;
  onMessage(data: Buffer): void {
    this.messages++;
    this.last = data;
  }
  onPing(): void {}
  onPong(): void {}
  onClose(): void {}
  onError(error: Error): void {
    throw error;
  }
}

function parserCases(): MicroCase[] {
  const text = Buffer.from("The quick brown fox jumps over t", "utf8");
  const pipelined = Buffer.concat(Array.from({ length: 16 }, () => referenceEncodeFrame(Opcode.TEXT, text, true, KEY)));
  const big = pattern(64 * 1024);
  const bigFrame = referenceEncodeFrame(Opcode.BINARY, big, true, KEY);
  // A 64 KiB frame as TCP delivers it: in pieces.
  const cuts = [0, 16 * 1024, 32 * 1024, 48 * 1024, bigFrame.length];
  const inputs = [
    { name: "16 × 32 B text frames in one chunk", chunks: [pipelined], bytes: 16 * 32, count: 16 },
    { name: "64 KiB binary frame in 4 chunks", chunks: cuts.slice(1).map((end, i) => bigFrame.subarray(cuts[i], end)), bytes: big.length, count: 1 },
  ];
  return inputs.map(({ name, chunks, bytes, count }) => {
    // Both parsers get fresh copies of the masked bytes each time (the optimised one unmasks in place).
    const work = chunks.map((c) => Buffer.allocUnsafe(c.length));
    const refill = () => chunks.forEach((c, i) => c.copy(work[i]!));
    const handler = new CountingHandler();
    const parser = new FrameParser(handler, { role: "server", maxMessageBytes: 1024 * 1024 });
    return {
      group: "parser",
      name,
      bytes,
      optimized: () => {
        refill();
        for (const chunk of work) parser.push(chunk);
        return handler.messages;
      },
      reference: () => {
        refill();
        const reference = new ReferenceParser();
        for (const chunk of work) reference.push(chunk);
        return reference.messages.length;
      },
      check: () => {
        refill();
        const h = new CountingHandler();
        const p = new FrameParser(h, { role: "server", maxMessageBytes: 1024 * 1024 });
        for (const chunk of work) p.push(chunk);
        // Copy now: the message is a view of a chunk that the next refill overwrites.
        const last = Buffer.from(h.last!);
        refill();
        const reference = new ReferenceParser();
        for (const chunk of work) reference.push(chunk);
        strictEqual(h.messages, count);
        strictEqual(reference.messages.length, count);
        deepStrictEqual(last, reference.messages.at(-1)!.data);
      },
    };
  });
}

function handshakeCases(): MicroCase[] {
  const request = Buffer.from(
    "GET /chat?room=1 HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nConnection: Upgrade\r\nPragma: no-cache\r\n" +
      "Cache-Control: no-cache\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36\r\n" +
      "Upgrade: websocket\r\nOrigin: http://127.0.0.1:9001\r\nSec-WebSocket-Version: 13\r\nAccept-Encoding: gzip, deflate, br\r\n" +
      "Accept-Language: en-US,en;q=0.9\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
    "latin1",
  );
  const optimized = () => {
    const result = new HttpRequestParser().push(request);
    if (result.state !== "complete") throw new Error(result.state);
    const upgrade = validateUpgradeRequest(result.head);
    return buildAcceptResponse(upgrade.key);
  };
  const accept = (response: Buffer) => /Sec-WebSocket-Accept: (\S+)/.exec(response.toString("latin1"))?.[1];
  return [
    {
      group: "handshake",
      name: "browser-like request → 101 response",
      bytes: request.length,
      optimized,
      reference: () => referenceHandshake(request),
      check: () => {
        strictEqual(accept(optimized()), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        strictEqual(accept(referenceHandshake(request)), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
      },
    },
  ];
}

function label(size: number): string {
  return size >= 1024 * 1024 ? `${size / 1024 / 1024} MiB` : size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
}

/** Every case, by group. */
export const GROUPS: Readonly<Record<string, () => MicroCase[]>> = {
  parser: parserCases,
  encoder: encoderCases,
  mask: maskCases,
  utf8: utf8Cases,
  handshake: handshakeCases,
};
