/**
 * The header section of an HTTP/1.1 head as the handshake reads it: {@link HttpHeaders}, an
 * immutable, ordered list of lines with case-insensitive lookups, and the RFC 9110 token and
 * whitespace grammar it and the head parser share.
 *
 * Kept apart from the incremental parser (`./http-parser.ts`) because headers outlive parsing:
 * the handshake, the transport (`HttpHeaders.fromRaw` for node:http upgrades) and user code all
 * read them, while only the parser scans bytes.
 *
 * @module
 */

/** Horizontal tab, part of optional whitespace (RFC 9110 §5.6.3). */
export const HTAB = 0x09;
/** Space, part of optional whitespace (RFC 9110 §5.6.3). */
export const SP = 0x20;

/** RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
 * "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA. 1 marks a tchar, indexed by ASCII code. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TCHAR[c.charCodeAt(0)] = 1;
}

/**
 * Whether `value` is an RFC 9110 §5.6.2 token (`1*tchar`): a non-empty run of visible ASCII
 * characters other than the delimiters `"(),/:;<=>?@[\]{}`.
 */
export function isToken(value: string): boolean {
  return value.length > 0 && isTokenRange(value, 0, value.length);
}

/** Whether `s[start, end)` is all tchar (true when empty: callers check the length). */
export function isTokenRange(s: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TCHAR[c] !== 1) return false;
  }
  return true;
}

/** Removes RFC 9110 §5.6.3 optional whitespace (SP / HTAB) from both ends of `s`. */
function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isOws(s.charCodeAt(start))) start++;
  while (end > start && isOws(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/** Whether `c` is RFC 9110 §5.6.3 optional whitespace (SP or HTAB). */
export function isOws(c: number): boolean {
  return c === SP || c === HTAB;
}

/**
 * Marks header entries that a parser of `./http-parser.ts` made itself (see the HttpHeaders
 * constructor). Internal: not re-exported from the package, so only these modules can claim it.
 */
export const OWNED: unique symbol = Symbol("wynd.ownedHeaderEntries");

/**
 * An immutable list of header lines, in order, with names as sent. Lookups are
 * ASCII-case-insensitive (RFC 9110 §5.1: field names are case-insensitive).
 */
export class HttpHeaders {
  /** Every header line as `[name, value]`, in the order received, names as sent. */
  readonly entries: ReadonlyArray<readonly [string, string]>;
  /** `entries` names, lower-cased once for lookups. */
  readonly #lowerNames: readonly string[];

  /**
   * Builds headers from Node's `IncomingMessage.rawHeaders` layout: `[name1, value1, name2,
   * value2, ...]`. Throws a TypeError if the array has an odd length (caller misuse).
   */
  static fromRaw(raw: readonly string[]): HttpHeaders {
    if (raw.length % 2 !== 0) throw new TypeError("raw headers must come in name/value pairs");
    const entries: Array<readonly [string, string]> = [];
    for (let i = 0; i < raw.length; i += 2) entries.push([raw[i] ?? "", raw[i + 1] ?? ""]);
    return new HttpHeaders(entries);
  }

  /**
   * Copies `entries` (`[name, value]` pairs); the caller's array may change afterwards.
   * `owned` is for this module's parsers only: the array and its pairs are fresh and nobody else
   * holds them, so they are frozen as they are instead of copied (the copy and its closure were
   * ~15% of the handshake micro-benchmark).
   */
  constructor(entries: ReadonlyArray<readonly [string, string]>, owned?: typeof OWNED) {
    const count = entries.length;
    let list: Array<readonly [string, string]>;
    if (owned === OWNED) {
      list = entries as Array<readonly [string, string]>;
      for (let i = 0; i < count; i++) Object.freeze(list[i]);
    } else {
      list = new Array<readonly [string, string]>(count);
      for (let i = 0; i < count; i++) {
        const [name, value] = entries[i]!;
        list[i] = Object.freeze([name, value] as const);
      }
    }
    const lowerNames = new Array<string>(count);
    for (let i = 0; i < count; i++) lowerNames[i] = list[i]![0].toLowerCase();
    this.entries = Object.freeze(list);
    this.#lowerNames = lowerNames;
  }

  /**
   * The value of header `name`, or undefined when absent. Several lines with that name are
   * combined with `", "`, as RFC 9110 §5.3 allows for list-based fields.
   */
  get(name: string): string | undefined {
    const values = this.getAll(name);
    return values.length === 0 ? undefined : values.join(", ");
  }

  /** The value of every line named `name`, in order (empty when absent). */
  getAll(name: string): string[] {
    const key = name.toLowerCase();
    const values: string[] = [];
    for (let i = 0; i < this.#lowerNames.length; i++) {
      if (this.#lowerNames[i] === key) values.push(this.entries[i]?.[1] ?? "");
    }
    return values;
  }

  /** How many lines carry the name `name`. */
  count(name: string): number {
    const key = name.toLowerCase();
    let n = 0;
    for (const lower of this.#lowerNames) if (lower === key) n++;
    return n;
  }

  /** Whether at least one line carries the name `name`. */
  has(name: string): boolean {
    return this.#lowerNames.includes(name.toLowerCase());
  }

  /**
   * The comma-separated list carried by every `name` line (RFC 9110 §5.6.1), items trimmed of
   * OWS, empty items dropped ("a, , b" -> ["a", "b"], as recipients MUST accept). Quoted
   * strings are not special-cased: the handshake's list fields carry tokens only.
   */
  tokens(name: string): string[] {
    const items: string[] = [];
    for (const value of this.getAll(name)) {
      let start = 0;
      while (start <= value.length) {
        let comma = value.indexOf(",", start);
        if (comma === -1) comma = value.length;
        const item = trimOws(value.slice(start, comma));
        if (item.length > 0) items.push(item);
        start = comma + 1;
      }
    }
    return items;
  }

  /** A plain object: lower-cased names mapped to {@link HttpHeaders.get}. No prototype. */
  toObject(): Record<string, string> {
    const out = Object.create(null) as Record<string, string>;
    for (const lower of this.#lowerNames) {
      if (!(lower in out)) out[lower] = this.get(lower) ?? "";
    }
    return out;
  }
}

