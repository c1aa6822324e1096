// Autobahn §6 UTF-8 handling: text messages and their fragments must be valid UTF-8 (RFC 6455
// §8.1, RFC 3629); valid ones are echoed byte for byte, invalid ones fail the connection with
// 1007. Fragmented messages fail fast: on the fragment that makes valid UTF-8 impossible, before
// the rest is sent. (Inside one frame the check happens when the frame is complete: tolerated.)
import assert from "node:assert/strict";
import { useEchoServer } from "../helpers/conformance-server.js";
import {
  OP,
  conformanceCase,
  connectRaw,
  type FrameSpec,
  type RawClient,
  type Rng,
} from "../helpers/raw-client.js";

const echo = useEchoServer();

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const KOSME = hex("ce ba e1 bd b9 cf 83 ce bc ce b5"); // "κόσμε"
const FATAL = new TextDecoder("utf-8", { fatal: true });

function isValidReference(bytes: Uint8Array): boolean {
  try {
    FATAL.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * A plain RFC 3629 §4 prefix check, independent of src/: how many bytes it takes for `bytes` to
 * stop being the beginning of any valid UTF-8 string (0 when it is valid, `bytes.length` when it
 * only ends inside a sequence).
 */
function impossibleAfter(bytes: Uint8Array): number {
  let need = 0;
  let lo = 0x80;
  let hi = 0xbf;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (need > 0) {
      if (b < lo || b > hi) return i + 1;
      need--;
      lo = 0x80;
      hi = 0xbf;
    } else if (b <= 0x7f) {
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else {
      return i + 1;
    }
  }
  return need === 0 ? 0 : bytes.length;
}

/** The sequences of Autobahn's case6_x_x (from Markus Kuhn's UTF-8 stress test), 6.5 to 6.23. */
function autobahnSequences(): Array<{ title: string; cases: Array<{ valid: boolean; bytes: Buffer }> }> {
  const groups: Array<{ title: string; cases: Array<{ valid: boolean; bytes: Buffer }> }> = [];
  const group = (title: string, cases: Array<[boolean, Buffer]>) =>
    groups.push({ title, cases: cases.map(([valid, bytes]) => ({ valid, bytes })) });
  const all = (valid: boolean, list: string[]): Array<[boolean, Buffer]> => list.map((s) => [valid, hex(s)]);

  group("some valid UTF-8 sequences", [
    [true, Buffer.from("hello$world")],
    [true, Buffer.concat([Buffer.from("hello"), hex("c2a2"), Buffer.from("world")])],
    [true, Buffer.concat([Buffer.from("hello"), hex("e282ac"), Buffer.from("world")])],
    [true, Buffer.concat([Buffer.from("hello"), hex("f0a4ada2"), Buffer.from("world")])],
    [true, KOSME],
  ]);
  group(
    "all prefixes of a valid UTF-8 string with multi-byte code points",
    Array.from({ length: KOSME.length }, (_, i) => {
      const prefix = KOSME.subarray(0, i + 1);
      return [[2, 5, 7, 9, 11].includes(i + 1), prefix] as [boolean, Buffer];
    }),
  );
  group("first possible sequence of a certain length", all(true, ["00", "c280", "e0a080", "f0908080"]));
  group("first possible sequence length 5/6 (invalid code points)", all(false, ["f888808080", "fc8480808080"]));
  group("last possible sequence of a certain length", all(true, ["7f", "dfbf", "efbfbf", "f48fbfbf"]));
  group("last possible sequence length 4/5/6 (invalid code points)", all(false, ["f7bfbfbf", "fbbfbfbfbf", "fdbfbfbfbfbf"]));
  group("other boundary conditions", [...all(true, ["ed9fbf", "ee8080", "efbfbd", "f48fbfbf"]), ...all(false, ["f4908080"])]);
  const continuations = Buffer.from(Array.from({ length: 0xbf - 0x80 }, (_, i) => 0x80 + i));
  group("unexpected continuation bytes", [
    ...all(false, ["80", "bf", "80bf", "80bf80", "80bf80bf", "80bf80bf80", "80bf80bf80bf"]),
    [false, continuations],
  ]);
  const lonely = (from: number, to: number) =>
    Buffer.from(Array.from({ length: to - from }, (_, i) => [from + i, 0x20]).flat());
  group("lonely start characters", [
    [false, lonely(0xc0, 0xdf)],
    [false, lonely(0xe0, 0xef)],
    [false, lonely(0xf0, 0xf7)],
    [false, lonely(0xf8, 0xfb)],
    [false, lonely(0xfc, 0xfd)],
  ]);
  const missing = ["c0", "e080", "f08080", "f8808080", "fc80808080", "df", "efbf", "f7bfbf", "fbbfbfbf", "fdbfbfbfbf"];
  group("sequences with last continuation byte missing", all(false, missing));
  group("concatenation of incomplete sequences", all(false, [missing.join("")]));
  group("impossible bytes", all(false, ["fe", "ff", "fefeffff"]));
  group("examples of an overlong ASCII character", all(false, ["c0af", "e080af", "f08080af", "f8808080af", "fc80808080af"]));
  group("maximum overlong sequences", all(false, ["c1bf", "e09fbf", "f08fbfbf", "f887bfbfbf", "fc83bfbfbfbf"]));
  group("overlong representation of the NUL character", all(false, ["c080", "e08080", "f0808080", "f880808080", "fc8080808080"]));
  group("single UTF-16 surrogates", all(false, ["eda080", "edadbf", "edae80", "edafbf", "edb080", "edbe80", "edbfbf"]));
  group(
    "paired UTF-16 surrogates",
    all(false, [
      "eda080edb080", "eda080edbfbf", "edadbfedb080", "edadbfedbfbf",
      "edae80edb080", "edae80edbfbf", "edafbfedb080", "edafbfedbfbf",
    ]),
  );
  const nonCharacters = ["efbfbe", "efbfbf"];
  for (const z1 of ["f0", "f1", "f2", "f3", "f4"]) {
    for (const z2 of ["8f", "9f", "af", "bf"]) {
      if (z1 === "f4" && z2 !== "8f") continue; // above U+10FFFF
      for (const z3 of ["be", "bf"]) {
        const zz = `${z1}${z2}bf${z3}`;
        if (zz !== "f08fbfbe" && zz !== "f08fbfbf") nonCharacters.push(zz); // not overlongs
      }
    }
  }
  group("non-character code points (valid UTF-8)", all(true, nonCharacters));
  group("Unicode specials (valid UTF-8)", all(true, ["efbfb9", "efbfba", "efbfbb", "efbfbc", "efbfbd", "efbfbe", "efbfbf"]));
  return groups;
}

/**
 * Expects close 1007 right after the fragment just sent, with a probe ping sent behind it: a
 * server that failed fast never answers it (it processes nothing after the failure), while a
 * server that kept going answers with a pong, which fails the case at once instead of waiting.
 */
async function expectFailFast(client: RawClient): Promise<void> {
  client.sendFrame({ opcode: OP.PING, payload: "probe: must not be answered" });
  await client.expectClose(1007);
}

async function expectEchoThenClose(client: RawClient, payload: Buffer): Promise<void> {
  await client.expectFrame({ opcode: OP.TEXT, payload });
  client.sendClose(1000);
  await client.expectClose(1000);
}

/**
 * Sends `bytes` as a text message of 1-byte fragments, strictly checking fail-fast: after each
 * fragment that keeps valid UTF-8 possible a ping proves the server processed it and is still
 * open; right after the fragment that makes it impossible, close 1007 must arrive, before
 * anything else is sent.
 */
async function sendOneByteFragments(client: RawClient, bytes: Buffer): Promise<"echoed" | "failed"> {
  const failAt = impossibleAfter(bytes);
  for (let i = 0; i < bytes.length; i++) {
    const last = i === bytes.length - 1;
    client.sendFrame({ opcode: i === 0 ? OP.TEXT : OP.CONTINUATION, payload: bytes.subarray(i, i + 1), fin: last });
    if (failAt === i + 1) {
      await expectFailFast(client);
      return "failed";
    }
    if (!last) {
      client.sendFrame({ opcode: OP.PING, payload: `after byte ${i}` });
      await client.expectFrame({ opcode: OP.PONG, payload: `after byte ${i}` });
    }
  }
  await expectEchoThenClose(client, bytes);
  return "echoed";
}

// 6.1 Valid UTF-8 with zero payload fragments.

conformanceCase("6.1.1 text message with an empty payload is echoed", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.TEXT });
  await expectEchoThenClose(client, Buffer.alloc(0));
});

conformanceCase("6.1.2 text message in 3 empty fragments is echoed as an empty text message", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.TEXT, fin: false });
  client.sendFrame({ opcode: OP.CONTINUATION, fin: false });
  client.sendFrame({ opcode: OP.CONTINUATION });
  await expectEchoThenClose(client, Buffer.alloc(0));
});

conformanceCase("6.1.3 text message in 3 fragments, first and last empty, is echoed", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.TEXT, fin: false });
  client.sendFrame({ opcode: OP.CONTINUATION, payload: "middle frame payload", fin: false });
  client.sendFrame({ opcode: OP.CONTINUATION });
  await expectEchoThenClose(client, Buffer.from("middle frame payload"));
});

// 6.2 Valid UTF-8, unfragmented, fragmented on code points and within code points.

const HELLO = Buffer.from("Hello-µ@ßöäüàá-UTF-8!!", "utf8");

conformanceCase("6.2.1 valid UTF-8 text message in one frame is echoed byte for byte", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.TEXT, payload: HELLO });
  await expectEchoThenClose(client, HELLO);
});

conformanceCase("6.2.2 valid UTF-8 text message in 2 fragments cut on a code point boundary is echoed", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  const part1 = Buffer.from("Hello-µ@ßöä", "utf8");
  client.sendFrame({ opcode: OP.TEXT, payload: part1, fin: false });
  client.sendFrame({ opcode: OP.CONTINUATION, payload: HELLO.subarray(part1.length) });
  await expectEchoThenClose(client, HELLO);
});

for (const [name, text] of [["6.2.3", HELLO], ["6.2.4", KOSME]] as const) {
  conformanceCase(`${name} valid UTF-8 text message in 1-byte fragments (cut inside code points) is echoed`, async ({ rng }) => {
    const client = await connectRaw(echo.port, { rng });
    assert.equal(await sendOneByteFragments(client, text), "echoed");
  });
}

// 6.3 Invalid UTF-8, differently fragmented.

const INVALID = Buffer.concat([KOSME, hex("eda080"), Buffer.from("edited")]); // fails on byte 13 (0xA0)

conformanceCase("6.3.1 invalid UTF-8 text message in one frame fails with 1007", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.TEXT, payload: INVALID });
  await client.expectClose(1007);
});

conformanceCase("6.3.2 invalid UTF-8 text message in 1-byte fragments fails with 1007 on the byte that makes it invalid", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  assert.equal(impossibleAfter(INVALID), 13);
  assert.equal(await sendOneByteFragments(client, INVALID), "failed");
});

// 6.4 Fail-fast on invalid UTF-8.

const PART1 = KOSME;
const PART2 = hex("f4908080"); // 0x110000: invalid on its second byte
const PART3 = Buffer.from("edited");

conformanceCase("6.4.1 invalid fragment of a 3-fragment message: close 1007 arrives before the 3rd fragment is sent", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.TEXT, payload: PART1, fin: false });
  client.sendFrame({ opcode: OP.PING, payload: "first fragment accepted" });
  await client.expectFrame({ opcode: OP.PONG, payload: "first fragment accepted" });
  client.sendFrame({ opcode: OP.CONTINUATION, payload: PART2, fin: false });
  await expectFailFast(client); // PART3 is never sent
});

conformanceCase("6.4.2 2nd fragment ends on the byte that makes the message invalid: close 1007 before the 3rd", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  const payload = Buffer.concat([PART1, PART2, PART3]);
  client.sendFrame({ opcode: OP.TEXT, payload: payload.subarray(0, 12), fin: false });
  client.sendFrame({ opcode: OP.PING, payload: "first fragment accepted" });
  await client.expectFrame({ opcode: OP.PONG, payload: "first fragment accepted" });
  client.sendFrame({ opcode: OP.CONTINUATION, payload: payload.subarray(12, 13), fin: false });
  await expectFailFast(client);
});

// Inside a single frame too, the payload is validated as it arrives: the close comes before the
// rest of the frame is sent (Autobahn's STRICT outcome), however the frame is chopped.
conformanceCase("6.4.3 invalid UTF-8 in one frame sent in 3 chops: close 1007 arrives before the 3rd chop is sent", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  const frame = client.encode({ opcode: OP.TEXT, payload: Buffer.concat([PART1, PART2, PART3]) });
  const headerBytes = frame.length - PART1.length - PART2.length - PART3.length;
  const upToInvalid = frame.subarray(0, headerBytes + PART1.length + PART2.length);
  await client.sendInChunks(upToInvalid, (i) => [headerBytes + PART1.length, PART2.length][i] ?? 1, 5);
  await client.expectClose(1007); // PART3 is never sent
});

conformanceCase("6.4.4 invalid UTF-8 in one frame sent byte by byte: close 1007 arrives before the rest is sent", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  const frame = client.encode({ opcode: OP.TEXT, payload: Buffer.concat([PART1, PART2, PART3]) });
  const headerBytes = frame.length - PART1.length - PART2.length - PART3.length;
  // f4 90: the second byte of PART2 makes the text impossible.
  await client.sendInChunks(frame.subarray(0, headerBytes + PART1.length + 2), 1, 1);
  await client.expectClose(1007); // the rest of the frame is never sent
});

// 6.5 to 6.23: Markus Kuhn's UTF-8 decoder stress test, as Autobahn numbers it. Each sequence
// is sent in one frame (Autobahn's case), then again in 1-byte fragments with the strict
// fail-fast check (6.x.N.M, not in Autobahn).

let sectionNumber = 5;
for (const { title, cases } of autobahnSequences()) {
  const section = `6.${sectionNumber++}`;
  cases.forEach(({ valid, bytes }, i) => {
    const id = `${section}.${i + 1}`;
    const label = `${title}: ${bytes.length > 12 ? `${bytes.subarray(0, 12).toString("hex")}…` : bytes.toString("hex")}`;
    const outcome = valid ? "is echoed byte for byte" : "fails with 1007";
    conformanceCase(`${id} text message in one frame (${label}) ${outcome}`, async ({ rng }) => {
      assert.equal(isValidReference(bytes), valid, "the case table agrees with TextDecoder");
      const client = await connectRaw(echo.port, { rng });
      client.sendFrame({ opcode: OP.TEXT, payload: bytes });
      if (valid) await expectEchoThenClose(client, bytes);
      else await client.expectClose(1007);
    });
    conformanceCase(`6.x.${id.slice(2)} the same in 1-byte fragments ${valid ? "is echoed" : "fails with 1007 on the first impossible byte"}`, async ({ rng }) => {
      const client = await connectRaw(echo.port, { rng });
      assert.equal(await sendOneByteFragments(client, bytes), valid ? "echoed" : "failed");
    });
  });
}

// Extra cases (not in Autobahn).

/** Every scalar value U+0000..U+10FFFF (no surrogates), UTF-8 encoded by hand. */
function allScalarValues(): Buffer {
  const out = Buffer.allocUnsafe(4 * 0x110000);
  let n = 0;
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    if (cp < 0x80) out[n++] = cp;
    else if (cp < 0x800) {
      out[n++] = 0xc0 | (cp >> 6);
      out[n++] = 0x80 | (cp & 0x3f);
    } else if (cp < 0x10000) {
      out[n++] = 0xe0 | (cp >> 12);
      out[n++] = 0x80 | ((cp >> 6) & 0x3f);
      out[n++] = 0x80 | (cp & 0x3f);
    } else {
      out[n++] = 0xf0 | (cp >> 18);
      out[n++] = 0x80 | ((cp >> 12) & 0x3f);
      out[n++] = 0x80 | ((cp >> 6) & 0x3f);
      out[n++] = 0x80 | (cp & 0x3f);
    }
  }
  return out.subarray(0, n);
}

/** Cuts `bytes` into fragments of seeded random sizes (1..max), as frame specs. */
function randomFragments(rng: Rng, bytes: Buffer, max: number): FrameSpec[] {
  const frames: FrameSpec[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const end = Math.min(bytes.length, offset + 1 + (rng() % max));
    frames.push({ opcode: offset === 0 ? OP.TEXT : OP.CONTINUATION, payload: bytes.subarray(offset, end), fin: end === bytes.length });
    offset = end;
  }
  return frames;
}

conformanceCase("6.x.1 every Unicode scalar value in one text message is echoed byte for byte", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  const bytes = allScalarValues();
  client.sendFrame({ opcode: OP.TEXT, payload: bytes });
  await expectEchoThenClose(client, bytes);
});

conformanceCase("6.x.2 every Unicode scalar value in random fragments (cut inside code points) is echoed", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  const bytes = allScalarValues();
  const frames = randomFragments(rng, bytes, 7000);
  client.send(Buffer.concat(frames.map((f) => client.encode(f))));
  await expectEchoThenClose(client, bytes);
});

conformanceCase("6.x.3 a surrogate cut across two fragments fails with 1007 on the fragment that completes it", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.TEXT, payload: Buffer.concat([Buffer.from("ok "), hex("ed")]), fin: false });
  client.sendFrame({ opcode: OP.PING, payload: "still open" });
  await client.expectFrame({ opcode: OP.PONG, payload: "still open" });
  client.sendFrame({ opcode: OP.CONTINUATION, payload: hex("a0"), fin: false });
  await expectFailFast(client);
});

conformanceCase("6.x.4 a message ending inside a code point fails with 1007 on its final fragment", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.TEXT, payload: hex("e282"), fin: false });
  client.sendFrame({ opcode: OP.PING, payload: "still open" });
  await client.expectFrame({ opcode: OP.PONG, payload: "still open" });
  client.sendFrame({ opcode: OP.CONTINUATION, payload: Buffer.alloc(0) });
  await expectFailFast(client);
});

conformanceCase("6.x.5 invalid UTF-8 in a binary message is echoed untouched", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.BINARY, payload: INVALID });
  await client.expectFrame({ opcode: OP.BINARY, payload: INVALID });
  client.sendClose(1000);
  await client.expectClose(1000);
});

conformanceCase("6.x.6 a valid text message after a valid fragmented one is validated afresh", async ({ rng }) => {
  const client = await connectRaw(echo.port, { rng });
  client.sendFrame({ opcode: OP.TEXT, payload: hex("e282"), fin: false });
  client.sendFrame({ opcode: OP.CONTINUATION, payload: hex("ac") });
  client.sendFrame({ opcode: OP.TEXT, payload: hex("ac") }); // a lone continuation byte: invalid
  await client.expectFrame({ opcode: OP.TEXT, payload: hex("e282ac") });
  await client.expectClose(1007);
});

conformanceCase("6.x.7 seeded fuzz: text split into random multi-byte fragments fails exactly on the first impossible fragment", async ({ rng }) => {
  // 40 messages: valid UTF-8 with 1- to 4-byte code points, some with one corrupted byte, cut
  // into 1..7-byte fragments so cuts land at every position inside sequences.
  const pieces = [hex("24"), hex("c2a2"), hex("e282ac"), hex("f0a4ada2"), hex("ed9fbf"), hex("f48fbfbf"), hex("efbfbf")];
  const corruptions = [0x80, 0xbf, 0xc0, 0xed, 0xf4, 0xf5, 0xff, 0xa0, 0x90];
  for (let n = 0; n < 40; n++) {
    const parts: Buffer[] = [];
    for (let k = 0; k < 6; k++) parts.push(pieces[rng() % pieces.length]!);
    const bytes = Buffer.concat(parts);
    if (n % 4 !== 0) bytes[rng() % bytes.length] = corruptions[rng() % corruptions.length]!;
    const frames = randomFragments(rng, bytes, 7);
    const failAt = impossibleAfter(bytes); // 0: valid; else the byte count that makes it fail
    const client = await connectRaw(echo.port, { rng });
    let sent = 0;
    let failed = false;
    for (const [i, frame] of frames.entries()) {
      client.sendFrame(frame);
      sent += (frame.payload as Buffer).length;
      if (failAt !== 0 && failAt <= sent) {
        await expectFailFast(client);
        failed = true;
        break;
      }
      if (i < frames.length - 1) {
        client.sendFrame({ opcode: OP.PING, payload: `after fragment ${i}` });
        await client.expectFrame({ opcode: OP.PONG, payload: `after fragment ${i}` });
      }
    }
    assert.equal(failed, !isValidReference(bytes), `message ${n}: ${bytes.toString("hex")}`);
    if (!failed) await expectEchoThenClose(client, bytes);
  }
});
