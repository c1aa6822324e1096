/**
 * The `allowedOrigins` check: which web pages may open a connection. A browser sends the page's
 * origin in the `Origin` header of every WebSocket upgrade (RFC 6455 §4.2.1 item 7, §10.2), and
 * WebSockets are not subject to the same-origin policy: without this check any site the user
 * visits can open a socket to a server on their machine or intranet, with their cookies.
 *
 * Matching rules:
 * - An upgrade **without** `Origin` is allowed: it does not come from a browser page (wscat, a
 *   server, a native app), so it carries no ambient authority of a user's browser.
 * - An entry `"scheme://host[:port]"` matches an `Origin` with the same scheme, host and port:
 *   scheme and host compare case-insensitively, an omitted port is the scheme's default (80 for
 *   http/ws, 443 for https/wss), an international host matches its punycode form. Nothing else
 *   of a URL may be in an entry (no path, query, user or trailing dot tricks), so
 *   `https://example.com` does not match `https://example.com.evil.net` or `http://example.com`.
 * - The entry `"self"` matches an `Origin` whose host and port equal the request's `Host` header
 *   (host case-insensitive; a `Host` without a port has the default port of the Origin's scheme):
 *   the page was served by the very host the socket is opened to. The scheme is not compared,
 *   because behind a TLS-terminating proxy the server cannot know it.
 * - `Origin: null` (sandboxed frames, `file:` pages) matches no entry.
 *
 * The entries are compiled once; the check per upgrade is a Set lookup (browsers serialize
 * origins in exactly the canonical form), with a parse only for unusual spellings.
 *
 * @module
 */

/** The entry for "the origin of the page the server itself served" (see the module comment). */
export const SAME_ORIGIN = "self";

const DEFAULT_PORTS: Readonly<Record<string, string>> = { "http:": "80", "ws:": "80", "https:": "443", "wss:": "443" };

// scheme "://" host [":" port], the host a bracketed IPv6 literal or a name without delimiters.
const ORIGIN = /^([a-z][a-z0-9+.-]*:)\/\/(\[[0-9a-f:.]+\]|[^:/?#@[\]\s]+)(?::(\d{1,5}))?$/i;
const HOST = /^(\[[0-9a-f:.]+\]|[^:/?#@[\]\s]+)(?::(\d{1,5}))?$/i;

/** `origin` as `scheme://host:port`, lower-cased with the port explicit; undefined when not an origin. */
function canonical(origin: string): string | undefined {
  const match = ORIGIN.exec(origin);
  if (match === null) return undefined;
  const scheme = match[1]!.toLowerCase();
  const port = match[3] ?? DEFAULT_PORTS[scheme] ?? "";
  return `${scheme}//${match[2]!.toLowerCase()}:${String(Number(port))}`;
}

/** Compiles one list entry (a URL origin) to its canonical form; throws TypeError for anything else. */
function compileEntry(entry: unknown): string {
  if (typeof entry !== "string") throw new TypeError(`allowedOrigins entries must be strings, got ${typeof entry}`);
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    throw new TypeError(`allowedOrigins: not an origin (scheme://host[:port]): ${JSON.stringify(entry)}`);
  }
  // An origin is scheme, host and port: anything more in the entry is a mistake worth reporting.
  const bare = url.username === "" && url.password === "" && url.search === "" && url.hash === "" && (url.pathname === "" || url.pathname === "/");
  const compiled = url.host === "" || !bare ? undefined : canonical(`${url.protocol}//${url.host}`);
  if (compiled === undefined || !/^[^/]*:\/\/[^/]*$/.test(entry.replace(/\/$/, ""))) {
    throw new TypeError(`allowedOrigins: not an origin (scheme://host[:port], nothing after it): ${JSON.stringify(entry)}`);
  }
  return compiled;
}

/** Whether a request's `Origin` is allowed, given its `Host` header. */
export type OriginCheck = (origin: string | undefined, host: string) => boolean;

/**
 * Compiles `allowedOrigins` (URL origins and {@link SAME_ORIGIN}) into a check (see the module
 * comment). Throws TypeError for an entry that is not an origin.
 */
export function compileAllowedOrigins(allowedOrigins: readonly string[]): OriginCheck {
  if (!Array.isArray(allowedOrigins)) throw new TypeError("allowedOrigins must be an array of origins");
  let self = false;
  const allowed = new Set<string>();
  for (const entry of allowedOrigins as readonly unknown[]) {
    if (entry === SAME_ORIGIN) self = true;
    else allowed.add(compileEntry(entry));
  }
  // The browsers' own serialization (no default port) of each entry, for the one-lookup path.
  const serialized = new Set<string>();
  for (const entry of allowed) {
    const [scheme, rest] = entry.split("//") as [string, string];
    const port = rest.slice(rest.lastIndexOf(":") + 1);
    serialized.add(port === DEFAULT_PORTS[scheme] ? `${scheme}//${rest.slice(0, rest.lastIndexOf(":"))}` : entry);
  }
  return (origin, host) => {
    if (origin === undefined) return true;
    if (serialized.has(origin)) return true;
    const normalized = canonical(origin);
    if (normalized === undefined) return false;
    if (allowed.has(normalized)) return true;
    return self && sameOrigin(normalized, host);
  };
}

/** Whether the canonical `origin` names the host and port of the `Host` header `host`. */
function sameOrigin(origin: string, host: string): boolean {
  const match = HOST.exec(host);
  if (match === null) return false;
  const scheme = origin.slice(0, origin.indexOf("//"));
  const port = match[2] ?? DEFAULT_PORTS[scheme] ?? "";
  return origin === `${scheme}//${match[1]!.toLowerCase()}:${String(Number(port))}`;
}
