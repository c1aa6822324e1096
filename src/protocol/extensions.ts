/**
 * The `Sec-WebSocket-Extensions` header (RFC 6455 §9.1), sans I/O: parsing a value into
 * extension elements and writing one back.
 *
 * ```
 * extension-list  = 1#extension
 * extension       = extension-token *( ";" extension-param )
 * extension-param = token [ "=" (token | quoted-string) ]
 * ```
 *
 * "When using the quoted-string syntax variant, the value after quoted-string unescaping MUST
 * conform to the 'token' ABNF" (RFC 6455 §9.1): a quoted value is unescaped and then checked.
 * Optional whitespace is allowed around every separator, and empty list elements (`a, , b`) are
 * ignored as RFC 9110 §5.6.1 asks of recipients. Anything else is malformed: the server answers
 * 400, the client fails the connection.
 *
 * @module
 */

import { HandshakeError } from "../errors.js";
import { isToken } from "./http-parser.js";

/** One parameter: its name and its value, or `true` when it has none. */
export type ExtensionParam = readonly [name: string, value: string | true];

/** One element of the list: an extension name and its parameters, in order (repeats kept). */
export interface ExtensionElement {
  readonly name: string;
  readonly params: readonly ExtensionParam[];
}

/** Thrown for a malformed header (status 400, code `ERR_INVALID_EXTENSIONS`). */
function malformed(message: string): HandshakeError {
  return new HandshakeError("ERR_INVALID_EXTENSIONS", 400, `invalid Sec-WebSocket-Extensions: ${message}`);
}

const SP = 0x20;
const HTAB = 0x09;
const COMMA = 0x2c;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

/** A cursor over the header value. */
class Scanner {
  readonly text: string;
  position = 0;

  constructor(text: string) {
    this.text = text;
  }

  get done(): boolean {
    return this.position >= this.text.length;
  }

  peek(): number {
    return this.text.charCodeAt(this.position);
  }

  skipSpace(): void {
    while (!this.done && (this.peek() === SP || this.peek() === HTAB)) this.position++;
  }

  /** Reads a token (RFC 9110 §5.6.2); "" when none starts here. */
  token(): string {
    const start = this.position;
    while (!this.done && isToken(this.text.charAt(this.position))) this.position++;
    return this.text.slice(start, this.position);
  }

  /** Reads a quoted-string (the opening quote is at the cursor) and returns it unescaped. */
  quoted(): string {
    this.position++; // the opening DQUOTE
    let value = "";
    while (!this.done) {
      const c = this.peek();
      if (c === DQUOTE) {
        this.position++;
        return value;
      }
      if (c === BACKSLASH) {
        // RFC 9110 §5.6.4: quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ).
        this.position++;
        if (this.done) break;
      }
      value += this.text.charAt(this.position);
      this.position++;
    }
    throw malformed("unterminated quoted string");
  }
}

/**
 * Parses a `Sec-WebSocket-Extensions` value (several header lines joined with ", ").
 *
 * @param value - The header value.
 * @returns The elements in order; empty for an empty or all-whitespace value.
 * @throws HandshakeError 400 `ERR_INVALID_EXTENSIONS` for a malformed value.
 */
export function parseExtensions(value: string): ExtensionElement[] {
  const scanner = new Scanner(value);
  const elements: ExtensionElement[] = [];
  for (;;) {
    scanner.skipSpace();
    if (scanner.done) return elements;
    if (scanner.peek() === COMMA) {
      scanner.position++; // an empty list element
      continue;
    }
    const name = scanner.token();
    if (name === "") throw malformed(`unexpected character at ${scanner.position}`);
    const params: ExtensionParam[] = [];
    scanner.skipSpace();
    while (!scanner.done && scanner.peek() === SEMICOLON) {
      scanner.position++;
      scanner.skipSpace();
      const param = scanner.token();
      if (param === "") throw malformed(`a parameter name is missing at ${scanner.position}`);
      scanner.skipSpace();
      let paramValue: string | true = true;
      if (!scanner.done && scanner.peek() === EQUALS) {
        scanner.position++;
        scanner.skipSpace();
        if (!scanner.done && scanner.peek() === DQUOTE) {
          paramValue = scanner.quoted();
          if (!isToken(paramValue)) throw malformed(`the quoted value of ${param} is not a token`);
        } else {
          paramValue = scanner.token();
          if (paramValue === "") throw malformed(`the value of ${param} is missing`);
        }
        scanner.skipSpace();
      }
      params.push([param, paramValue]);
    }
    elements.push({ name, params });
    if (scanner.done) return elements;
    if (scanner.peek() !== COMMA) throw malformed(`unexpected character at ${scanner.position}`);
    scanner.position++;
  }
}

/**
 * Writes one extension element: `name; a; b=10`. Values are written as tokens.
 *
 * @throws TypeError if a name or value is not a token.
 */
export function formatExtension(element: ExtensionElement): string {
  if (!isToken(element.name)) throw new TypeError(`invalid extension name ${JSON.stringify(element.name)}`);
  let out = element.name;
  for (const [name, value] of element.params) {
    if (!isToken(name) || (value !== true && !isToken(value))) {
      throw new TypeError(`invalid extension parameter ${JSON.stringify(name)}`);
    }
    out += value === true ? `; ${name}` : `; ${name}=${value}`;
  }
  return out;
}
