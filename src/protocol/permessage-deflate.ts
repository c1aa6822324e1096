/**
 * permessage-deflate negotiation (RFC 7692 §5 and §7.1), sans I/O: the server picks an offer and
 * writes its response; the client writes its offer and checks the server's response strictly.
 * Compression itself (node:zlib) lives in the transport.
 *
 * @module
 */

import { HandshakeError } from "../errors.js";
import { formatExtension, parseExtensions, type ExtensionElement, type ExtensionParam } from "./extensions.js";

/** RFC 7692 §7: the extension name. */
export const PERMESSAGE_DEFLATE = "permessage-deflate";

/** RFC 7692 §7.1.2: the LZ77 window sizes (base-2 logarithm) a peer may ask for. */
export const MIN_WINDOW_BITS = 8;
/** The largest window, and the default when nothing limits it. */
export const MAX_WINDOW_BITS = 15;

/** The four negotiation parameters of RFC 7692 §7.1, as options of one end. */
export interface DeflateNegotiationOptions {
  /**
   * Server: always answer `server_no_context_takeover` (the server compresses every message on
   * its own, so it keeps no compression state between messages). Client: ask for it.
   * Default false.
   */
  readonly serverNoContextTakeover?: boolean;
  /**
   * Server: always answer `client_no_context_takeover` (the server then keeps no decompression
   * state between messages). Client: offer it (and compress every message on its own).
   * Default false.
   */
  readonly clientNoContextTakeover?: boolean;
  /**
   * Server: the largest window the server compresses with (8-15; answered when below 15).
   * Client: ask the server for at most this window. Default 15 (client: not asked).
   */
  readonly serverMaxWindowBits?: number;
  /**
   * Server: the largest window the client may compress with (8-15); below 15, offers without
   * `client_max_window_bits` are declined, since the client could not be limited. Client: the
   * window it compresses with (offered as a value). Default 15 (client: offered without value).
   */
  readonly clientMaxWindowBits?: number;
}

/** The agreed parameters of a connection (RFC 7692 §7.1), every value resolved. */
export interface DeflateParams {
  readonly serverNoContextTakeover: boolean;
  readonly clientNoContextTakeover: boolean;
  readonly serverMaxWindowBits: number;
  readonly clientMaxWindowBits: number;
}

/** What the server answers to an accepted offer. */
export interface DeflateAgreement {
  readonly params: DeflateParams;
  /** The `Sec-WebSocket-Extensions` value of the 101 response. */
  readonly response: string;
}

/** Throws a RangeError/TypeError unless the options are valid; returns them resolved. */
export function resolveNegotiationOptions(options: DeflateNegotiationOptions = {}): Required<DeflateNegotiationOptions> {
  const resolved = {
    serverNoContextTakeover: options.serverNoContextTakeover ?? false,
    clientNoContextTakeover: options.clientNoContextTakeover ?? false,
    serverMaxWindowBits: options.serverMaxWindowBits ?? MAX_WINDOW_BITS,
    clientMaxWindowBits: options.clientMaxWindowBits ?? MAX_WINDOW_BITS,
  };
  for (const name of ["serverNoContextTakeover", "clientNoContextTakeover"] as const) {
    if (typeof resolved[name] !== "boolean") throw new TypeError(`${name} must be a boolean`);
  }
  for (const name of ["serverMaxWindowBits", "clientMaxWindowBits"] as const) {
    const bits = resolved[name];
    if (!Number.isInteger(bits) || bits < MIN_WINDOW_BITS || bits > MAX_WINDOW_BITS) {
      throw new RangeError(`${name} must be an integer from 8 to 15, got ${String(bits)}`);
    }
  }
  return resolved;
}

/** RFC 7692 §7.1.2: a window size is 1*DIGIT in 8..15 (no sign, no leading zero beyond "0"). */
function parseWindowBits(value: string): number | undefined {
  if (!/^[0-9]{1,2}$/.test(value)) return undefined;
  const bits = Number(value);
  return bits >= MIN_WINDOW_BITS && bits <= MAX_WINDOW_BITS && String(bits) === value ? bits : undefined;
}

/** The parameters of one offer or response, validated; a string says why it is invalid. */
interface ParsedParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  /** undefined: absent. */
  serverMaxWindowBits: number | undefined;
  /** undefined: absent; true: present without a value. */
  clientMaxWindowBits: number | true | undefined;
}

/**
 * Validates the parameters of one element. `response` selects the rules of a response
 * (client_max_window_bits needs a value there). Returns a reason string when invalid.
 */
function parseParams(params: readonly ExtensionParam[], response: boolean): ParsedParams | string {
  const parsed: ParsedParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined,
  };
  const seen = new Set<string>();
  for (const [name, value] of params) {
    // RFC 7692 §7: an offer (or response) with "multiple extension parameters with the same
    // name" is declined (or fails the connection).
    if (seen.has(name)) return `repeated parameter ${name}`;
    seen.add(name);
    switch (name) {
      case "server_no_context_takeover":
      case "client_no_context_takeover":
        // RFC 7692 §7.1.1.1, §7.1.1.2: "This extension parameter has no value."
        if (value !== true) return `${name} takes no value`;
        if (name === "server_no_context_takeover") parsed.serverNoContextTakeover = true;
        else parsed.clientNoContextTakeover = true;
        break;
      case "server_max_window_bits": {
        // RFC 7692 §7.1.2.1: it "has a value", 8 to 15, in an offer and in a response.
        const bits = value === true ? undefined : parseWindowBits(value);
        if (bits === undefined) return `invalid ${name}`;
        parsed.serverMaxWindowBits = bits;
        break;
      }
      case "client_max_window_bits": {
        // RFC 7692 §7.1.2.2: in an offer it "may have a value" (no value: the client supports
        // the parameter); in a response it carries the value the client must use.
        if (value === true) {
          if (response) return `${name} needs a value in a response`;
          parsed.clientMaxWindowBits = true;
        } else {
          const bits = parseWindowBits(value);
          if (bits === undefined) return `invalid ${name}`;
          parsed.clientMaxWindowBits = bits;
        }
        break;
      }
      default:
        // RFC 7692 §7: "an extension parameter not defined for use in an offer/response".
        return `unknown parameter ${name}`;
    }
  }
  return parsed;
}

/**
 * Server side (RFC 7692 §7.1): picks the first acceptable permessage-deflate offer of the
 * request's `Sec-WebSocket-Extensions` value. Offers with an unknown, repeated or invalid
 * parameter are declined (RFC 7692 §7: "A server MUST decline an extension negotiation offer
 * for this extension if ..."), as are offers it cannot honour (see
 * {@link DeflateNegotiationOptions.clientMaxWindowBits}). Other extensions are ignored.
 *
 * @param header - The request's header value, undefined when absent.
 * @param options - The server's preferences.
 * @returns The agreed parameters and the response value, or undefined when nothing was accepted.
 * @throws HandshakeError 400 `ERR_INVALID_EXTENSIONS` for a malformed header.
 */
export function negotiateDeflate(
  header: string | undefined,
  options: DeflateNegotiationOptions = {},
): DeflateAgreement | undefined {
  if (header === undefined) return undefined;
  const config = resolveNegotiationOptions(options);
  for (const element of parseExtensions(header)) {
    if (element.name !== PERMESSAGE_DEFLATE) continue;
    const offer = parseParams(element.params, false);
    if (typeof offer === "string") continue;
    const agreement = accept(offer, config);
    if (agreement !== undefined) return agreement;
  }
  return undefined;
}

function accept(offer: ParsedParams, config: Required<DeflateNegotiationOptions>): DeflateAgreement | undefined {
  const params: ExtensionParam[] = [];
  // RFC 7692 §7.1.1.1: an offer with server_no_context_takeover is accepted by including it;
  // the server may also include it on its own.
  const serverNoContextTakeover = offer.serverNoContextTakeover || config.serverNoContextTakeover;
  if (serverNoContextTakeover) params.push(["server_no_context_takeover", true]);
  // RFC 7692 §7.1.1.2: the server may include client_no_context_takeover whether offered or not;
  // echoing an offered one lets the server keep no decompression state either.
  const clientNoContextTakeover = offer.clientNoContextTakeover || config.clientNoContextTakeover;
  if (clientNoContextTakeover) params.push(["client_no_context_takeover", true]);
  // RFC 7692 §7.1.2.1: answer server_max_window_bits with "the same or smaller value as the
  // offer"; it may be included even when not offered.
  const serverMaxWindowBits = Math.min(offer.serverMaxWindowBits ?? MAX_WINDOW_BITS, config.serverMaxWindowBits);
  if (offer.serverMaxWindowBits !== undefined || serverMaxWindowBits < MAX_WINDOW_BITS) {
    params.push(["server_max_window_bits", String(serverMaxWindowBits)]);
  }
  // RFC 7692 §7.1.2.2: client_max_window_bits may be answered only when offered; a client that
  // did not offer it may use a 32 KiB window, which a server limiting it cannot accept.
  let clientMaxWindowBits = MAX_WINDOW_BITS;
  if (offer.clientMaxWindowBits === undefined) {
    if (config.clientMaxWindowBits < MAX_WINDOW_BITS) return undefined;
  } else {
    const offered = offer.clientMaxWindowBits === true ? MAX_WINDOW_BITS : offer.clientMaxWindowBits;
    clientMaxWindowBits = Math.min(offered, config.clientMaxWindowBits);
    if (offer.clientMaxWindowBits !== true || clientMaxWindowBits < MAX_WINDOW_BITS) {
      params.push(["client_max_window_bits", String(clientMaxWindowBits)]);
    }
  }
  return {
    params: { serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits },
    response: formatExtension({ name: PERMESSAGE_DEFLATE, params }),
  };
}

/**
 * Client side: the `Sec-WebSocket-Extensions` offer for `options`. Always offers
 * `client_max_window_bits` (RFC 7692 §7.1.2.2: the client supports any window the server asks
 * for), with a value when {@link DeflateNegotiationOptions.clientMaxWindowBits} is set.
 */
export function deflateOffer(options: DeflateNegotiationOptions = {}): string {
  resolveNegotiationOptions(options);
  const params: ExtensionParam[] = [];
  if (options.clientNoContextTakeover === true) params.push(["client_no_context_takeover", true]);
  if (options.serverNoContextTakeover === true) params.push(["server_no_context_takeover", true]);
  if (options.serverMaxWindowBits !== undefined) {
    params.push(["server_max_window_bits", String(options.serverMaxWindowBits)]);
  }
  params.push([
    "client_max_window_bits",
    options.clientMaxWindowBits === undefined ? true : String(options.clientMaxWindowBits),
  ]);
  return formatExtension({ name: PERMESSAGE_DEFLATE, params });
}

/**
 * Client side: checks the server's `Sec-WebSocket-Extensions` answer to {@link deflateOffer}
 * (RFC 7692 §7: the client "MUST _Fail the WebSocket Connection_" for a response with a
 * parameter not defined for a response, an invalid value, a repeated parameter, or a
 * configuration the client does not support).
 *
 * @param header - The response's header value ("" when absent: the offer was declined).
 * @param options - What the client offered.
 * @param status - The response status, for the errors.
 * @returns The agreed parameters, or undefined when the server declined.
 * @throws HandshakeError `ERR_INVALID_EXTENSIONS` for any defect.
 */
export function acceptDeflateResponse(
  header: string,
  options: DeflateNegotiationOptions = {},
  status = 101,
): DeflateParams | undefined {
  const fail = (message: string) => new HandshakeError("ERR_INVALID_EXTENSIONS", status, `the server's Sec-WebSocket-Extensions: ${message}`);
  let elements: ExtensionElement[];
  try {
    elements = parseExtensions(header);
  } catch (error) {
    throw fail((error as Error).message);
  }
  if (elements.length === 0) return undefined;
  // RFC 6455 §9.1: the server answers with extensions the client offered; we offered one.
  if (elements.length !== 1 || elements[0]!.name !== PERMESSAGE_DEFLATE) {
    throw fail("accepts extensions that were not offered");
  }
  const answer = parseParams(elements[0]!.params, true);
  if (typeof answer === "string") throw fail(answer);
  // RFC 7692 §7.1.1.1: an offer with server_no_context_takeover is accepted by including it.
  if (options.serverNoContextTakeover === true && !answer.serverNoContextTakeover) {
    throw fail("server_no_context_takeover was asked for but not granted");
  }
  // RFC 7692 §7.1.2.1: the server answers server_max_window_bits with "the same or smaller
  // value as the offer".
  const asked = options.serverMaxWindowBits;
  if (asked !== undefined && (answer.serverMaxWindowBits === undefined || answer.serverMaxWindowBits > asked)) {
    throw fail("server_max_window_bits larger than asked for");
  }
  // RFC 7692 §7.1.2.2: client_max_window_bits in a response must not exceed the offered value.
  const clientBits = answer.clientMaxWindowBits as number | undefined;
  const offeredClientBits = options.clientMaxWindowBits ?? MAX_WINDOW_BITS;
  if (clientBits !== undefined && clientBits > offeredClientBits) {
    throw fail("client_max_window_bits larger than offered");
  }
  return {
    serverNoContextTakeover: answer.serverNoContextTakeover,
    // Offering client_no_context_takeover is a promise the client keeps either way.
    clientNoContextTakeover: answer.clientNoContextTakeover || options.clientNoContextTakeover === true,
    serverMaxWindowBits: answer.serverMaxWindowBits ?? MAX_WINDOW_BITS,
    clientMaxWindowBits: clientBits ?? offeredClientBits,
  };
}
