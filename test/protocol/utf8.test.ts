import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isValidUtf8, Utf8Validator } from "../../src/protocol/utf8.js";
import { hex, KOSME, seeded, splitAt, type Rng } from "../helpers/protocol-testing.js";

/**
 * The reference: WHATWG's UTF-8 decoder (TextDecoder, fatal, streaming) rejects a byte as soon as
 * it cannot continue valid UTF-8, which is exactly the fail-fast contract of Utf8Validator.
 * Returns, for each chunk, whether the bytes up to its end are still a valid prefix, and whether
 * the whole is valid.
 */
function reference(chunks: readonly Uint8Array[]): { prefixes: boolean[]; whole: boolean } {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const prefixes: boolean[] = [];
  let ok = true;
  for (const chunk of chunks) {
    if (ok) {
      try {
        decoder.decode(chunk, { stream: true });
      } catch {
        ok = false;
      }
    }
    prefixes.push(ok);
  }
  let whole = ok;
  if (ok) {
    try {
      decoder.decode();
    } catch {
      whole = false;
    }
  }
  return { prefixes, whole };
}

/** What the validator says, in the same shape as {@link reference}. */
function validate(validator: Utf8Validator, chunks: readonly Uint8Array[]): { prefixes: boolean[]; whole: boolean } {
  const prefixes = chunks.map((chunk) => validator.push(chunk));
  return { prefixes, whole: validator.end() };
}

const KOSME_HEX = KOSME.toString("hex"); // "κόσμε", the Autobahn 6.x sample

/** Autobahn testsuite section 6 (UTF-8 handling) vectors, by case number. */
const VECTORS: ReadonlyArray<readonly [string, string, boolean]> = [
  ["6.2 valid κόσμε", KOSME_HEX, true],
  ["6.3 κόσμε with a surrogate", `${KOSME_HEX} eda080 65646974656420`, false],
  ["6.4.1 κόσμε + F4 90 80 80 + edited", `${KOSME_HEX} f4908080 656469746564`, false],
  ["6.7.1 first 1-byte U+0000", "00", true],
  ["6.7.2 first 2-byte U+0080", "c280", true],
  ["6.7.3 first 3-byte U+0800", "e0a080", true],
  ["6.7.4 first 4-byte U+10000", "f0908080", true],
  ["6.8.1 first 5-byte sequence", "f888808080", false],
  ["6.8.2 first 6-byte sequence", "fc8480808080", false],
  ["6.9.1 last 1-byte U+007F", "7f", true],
  ["6.9.2 last 2-byte U+07FF", "dfbf", true],
  ["6.9.3 last 3-byte U+FFFF", "efbfbf", true],
  ["6.9.4 last 4-byte U+10FFFF", "f48fbfbf", true],
  ["6.10.1 last 4-byte form F7 BF BF BF", "f7bfbfbf", false],
  ["6.10.2 last 5-byte form", "fbbfbfbfbf", false],
  ["6.10.3 last 6-byte form", "fdbfbfbfbfbf", false],
  ["6.11.1 U+D7FF", "ed9fbf", true],
  ["6.11.2 U+E000", "ee8080", true],
  ["6.11.3 U+FFFD", "efbfbd", true],
  ["6.11.4 U+10FFFF", "f48fbfbf", true],
  ["6.11.5 U+110000", "f4908080", false],
  ["6.12.1 lone continuation 80", "80", false],
  ["6.12.2 lone continuation BF", "bf", false],
  ["6.12.3 continuations 80 BF", "80bf", false],
  ["6.12.8 all continuation bytes", Buffer.from(Array.from({ length: 64 }, (_, i) => 0x80 + i)).toString("hex"), false],
  ["6.13.1 lonely 2-byte starts", "c020c120c220", false],
  ["6.13.2 lonely 3-byte starts", "e020e120ef20", false],
  ["6.13.3 lonely 4-byte starts", "f020f420f720", false],
  ["6.14.1 C0 (2-byte, last byte missing)", "c0", false],
  ["6.14.2 E0 80", "e080", false],
  ["6.14.3 F0 80 80", "f08080", false],
  ["6.14.6 DF alone", "df", false],
  ["6.14.7 EF BF", "efbf", false],
  ["6.14.8 F7 BF BF", "f7bfbf", false],
  ["6.15 concatenated incomplete sequences", "c0e080f08080dfefbff7bfbf", false],
  ["6.16.1 FE", "fe", false],
  ["6.16.2 FF", "ff", false],
  ["6.16.3 FE FE FF FF", "fefeffff", false],
  ["6.17.1 overlong '/' C0 AF", "c0af", false],
  ["6.17.2 overlong '/' E0 80 AF", "e080af", false],
  ["6.17.3 overlong '/' F0 80 80 AF", "f08080af", false],
  ["6.18.1 max overlong C1 BF", "c1bf", false],
  ["6.18.2 max overlong E0 9F BF", "e09fbf", false],
  ["6.18.3 max overlong F0 8F BF BF", "f08fbfbf", false],
  ["6.19.1 overlong NUL C0 80", "c080", false],
  ["6.19.2 overlong NUL E0 80 80", "e08080", false],
  ["6.19.3 overlong NUL F0 80 80 80", "f0808080", false],
  ["6.20.1 surrogate U+D800", "eda080", false],
  ["6.20.3 surrogate U+DB80", "edae80", false],
  ["6.20.5 surrogate U+DC00", "edb080", false],
  ["6.20.7 surrogate U+DFFF", "edbfbf", false],
  ["6.21.1 paired surrogates U+D800 U+DC00", "eda080edb080", false],
  ["6.21.8 paired surrogates U+DBFF U+DFFF", "edafbfedbfbf", false],
  ["6.22.1 non-character U+FFFE", "efbfbe", true],
  ["6.22.2 non-character U+FFFF", "efbfbf", true],
  ["6.22.3 non-character U+1FFFE", "f09fbfbe", true],
  ["6.22.34 non-character U+10FFFF", "f48fbfbf", true],
  ["6.23.1 U+FDD0..U+FDEF non-characters", "efb790efb7af", true],
  ["6.23.7 U+FFFD followed by text", "efbfbd6869", true],
  ["empty", "", true],
];

describe("isValidUtf8 (RFC 3629, RFC 6455 §8.1)", () => {
  for (const [name, bytes, valid] of VECTORS) {
    it(`${valid ? "accepts" : "rejects"} Autobahn ${name}`, () => {
      assert.equal(isValidUtf8(hex(bytes)), valid);
    });
  }
});

describe("Utf8Validator", () => {
  it("agrees with the whole-buffer result for every Autobahn vector at every split point and byte by byte", () => {
    for (const [name, bytes, valid] of VECTORS) {
      const data = hex(bytes);
      const validator = new Utf8Validator();
      const ways: Uint8Array[][] = [[data], splitAt(data, Array.from({ length: Math.max(0, data.length - 1) }, (_, i) => i + 1))];
      for (let point = 0; point <= data.length; point++) ways.push(splitAt(data, [point]));
      for (const chunks of ways) {
        validator.reset();
        const actual = validate(validator, chunks);
        assert.equal(actual.whole, valid, `${name}: ${chunks.map((c) => Buffer.from(c).toString("hex")).join("|")}`);
        assert.deepEqual(actual, reference(chunks), name);
      }
    }
  });

  it("fails at once on a chunk ending in a sequence that cannot be completed", () => {
    const impossibleTails = ["eda0", "f490", "c0", "c1", "f5", "ff", "e080", "f080", "f08f", "eda080"];
    for (const tail of impossibleTails) {
      const validator = new Utf8Validator();
      assert.equal(validator.push(hex(`${KOSME_HEX}`)), true);
      assert.equal(validator.push(hex(`41 ${tail}`)), false, `41 ${tail} should fail now`);
      assert.equal(validator.push(hex("41")), false, "failure is sticky");
      assert.equal(validator.end(), false);
    }
  });

  it("accepts chunks ending in a sequence that can still be completed, and end() rejects it left incomplete", () => {
    const possibleTails = ["c2", "e0", "e0a0", "ed", "ed9f", "f0", "f090", "f09080", "f4", "f48f", "f48fbf", "ef", "efbf"];
    for (const tail of possibleTails) {
      const validator = new Utf8Validator();
      assert.equal(validator.push(hex(`41 ${tail}`)), true, tail);
      assert.equal(validator.end(), false, `${tail} left incomplete`);
    }
  });

  it("validates a 4-byte sequence split over four 1-byte chunks", () => {
    const validator = new Utf8Validator();
    for (const byte of [0xf0, 0x9f, 0x98, 0x80]) assert.equal(validator.push(Uint8Array.of(byte)), true);
    assert.equal(validator.end(), true);
  });

  it("reset() forgets a failure and an incomplete sequence", () => {
    const validator = new Utf8Validator();
    validator.push(hex("ff"));
    validator.reset();
    assert.equal(validator.push(hex("e282")), true);
    validator.reset();
    assert.equal(validator.push(hex("41")), true);
    assert.equal(validator.end(), true);
  });

  it("matches the streaming TextDecoder reference on thousands of seeded random byte strings split at random points", () => {
    seeded((next) => {
      for (let round = 0; round < 4000; round++) {
        const data = randomUtf8ish(next);
        const points = Array.from({ length: next() % 6 }, () => next() % (data.length + 1)).sort((a, b) => a - b);
        const chunks = splitAt(data, points);
        const actual = validate(new Utf8Validator(), chunks);
        const expected = reference(chunks);
        const shown = chunks.map((c) => Buffer.from(c).toString("hex")).join("|");
        assert.deepEqual(actual, expected, shown);
        assert.equal(actual.whole, isValidUtf8(data), shown);
      }
    });
  });

  it("push(chunk, start, end) checks exactly that range, as push of a view of it does", () => {
    seeded((next) => {
      for (let round = 0; round < 2000; round++) {
        const data = randomUtf8ish(next);
        const points = Array.from({ length: next() % 6 }, () => next() % (data.length + 1)).sort((a, b) => a - b);
        // Invalid bytes around the range must not be looked at.
        const padding = next() % 4;
        const padded = Buffer.concat([Buffer.alloc(padding, 0xff), data, Buffer.alloc(next() % 4, 0xc2)]);
        const validator = new Utf8Validator();
        const prefixes: boolean[] = [];
        let start = 0;
        for (const point of [...points, data.length]) {
          prefixes.push(validator.push(padded, padding + start, padding + point));
          start = point;
        }
        const shown = `${Buffer.from(data).toString("hex")} cut at ${points.join(",")}`;
        assert.deepEqual({ prefixes, whole: validator.end() }, reference(splitAt(data, points)), shown);
      }
    });
  });
});

/** Mostly valid UTF-8 (code points from every range and boundary) with occasional damage. */
function randomUtf8ish(next: Rng): Uint8Array {
  const bytes: number[] = [];
  const count = next() % 24;
  const boundaries = [0, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x10ffff];
  for (let i = 0; i < count; i++) {
    const kind = next() % 10;
    if (kind < 5) {
      const cp = next() % 4 === 0 ? boundaries[next() % boundaries.length]! : randomCodePoint(next);
      bytes.push(...Buffer.from(String.fromCodePoint(cp)));
    } else if (kind < 7) {
      bytes.push(next() & 0xff); // any byte at all
    } else if (kind === 7) {
      bytes.push(0x80 | (next() & 0x3f)); // a continuation byte
    } else if (kind === 8) {
      // a damaged multi-byte sequence: a valid lead with a continuation that may be out of range
      const leads = [0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xef, 0xf0, 0xf3, 0xf4];
      bytes.push(leads[next() % leads.length]!, 0x80 + (next() % 64));
    } else if (bytes.length > 0) {
      bytes.pop(); // truncate the previous sequence
    }
  }
  return Uint8Array.from(bytes);
}

function randomCodePoint(next: Rng): number {
  switch (next() % 4) {
    case 0:
      return next() % 0x80;
    case 1:
      return 0x80 + (next() % 0x780);
    case 2: {
      const cp = 0x800 + (next() % 0xf800);
      return cp >= 0xd800 && cp <= 0xdfff ? cp - 0x800 : cp;
    }
    default:
      return 0x10000 + (next() % 0x100000);
  }
}
