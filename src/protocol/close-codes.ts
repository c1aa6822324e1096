/**
 * Which close codes may travel on the wire (RFC 6455 §7.4).
 *
 * @module
 */

/**
 * Whether `code` may appear in a close frame. RFC 6455 §7.4.1/§7.4.2: 1000-1003 and 1007-1011
 * are defined; 1012-1014 were registered with IANA later and are sent by real servers;
 * 1004 is reserved, and 1005, 1006 and 1015 "MUST NOT be set as a status code in a Close control
 * frame by an endpoint". 3000-3999 are registered for libraries and frameworks, 4000-4999 are
 * for private use. Everything else (0-999, 1016-2999, >= 5000) is invalid.
 */
export function isValidWireCloseCode(code: number): boolean {
  if (code >= 1000 && code <= 1014) return code !== 1004 && code !== 1005 && code !== 1006;
  return code >= 3000 && code <= 4999;
}
