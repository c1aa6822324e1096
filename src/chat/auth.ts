/**
 * Optional authentication: a token, given by the client in the upgrade request (`?token=…` in
 * the URL, or `Authorization: Bearer …`), is checked before the WebSocket opens and fixes the
 * user's name. Two kinds of tokens:
 *
 * - a **tokens file**: lines `token name`, `#` comments and blank lines ignored. Tokens are
 *   looked up by their SHA-256, so the lookup's timing says nothing about the tokens;
 * - **signed tokens** with a shared secret: `base64url(JSON {name, exp?}) "." base64url(sig)`,
 *   `sig` the HMAC-SHA256 of the first part under the secret, compared in constant time
 *   (`timingSafeEqual`). `exp` (optional) is in seconds since the epoch, as in a JWT.
 *
 * @module
 */

import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { UpgradeRequest } from "../index.js";
import { isValidName } from "./names.js";

/** Checks a token: the name it fixes, or undefined when it is not valid. */
export type Authenticator = (token: string) => string | undefined;

/** The shortest accepted shared secret, in characters: a short secret is guessable offline. */
export const MIN_SECRET_LENGTH = 16;

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * Parses a tokens file's text (lines `token name`). Throws an Error naming the line for a
 * malformed line, an invalid name or a token listed twice.
 */
export function parseTokenList(text: string, source = "tokens"): Authenticator {
  const names = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const fields = line.split(/\s+/);
    const where = `${source}:${index + 1}`;
    if (fields.length !== 2) throw new Error(`${where}: expected "token name", got ${fields.length} field(s)`);
    const [token, name] = fields as [string, string];
    if (!isValidName(name)) throw new Error(`${where}: invalid name ${JSON.stringify(name)} (1-32 characters, no spaces or control characters)`);
    const key = sha256(token);
    if (names.has(key)) throw new Error(`${where}: this token is listed twice`);
    names.set(key, name);
  });
  return (token) => (token === "" ? undefined : names.get(sha256(token)));
}

/** Reads and parses a tokens file (see {@link parseTokenList}); rejects when unreadable or malformed. */
export async function readTokenFile(path: string): Promise<Authenticator> {
  return parseTokenList(await readFile(path, "utf8"), path);
}

function checkSecret(secret: string): void {
  if (typeof secret !== "string" || secret.length < MIN_SECRET_LENGTH) {
    throw new RangeError(`the auth secret must be at least ${MIN_SECRET_LENGTH} characters`);
  }
}

function signature(secret: string, payload: string): Buffer {
  return createHmac("sha256", secret).update(payload, "utf8").digest();
}

/** Options of {@link signToken}. */
export interface SignOptions {
  /** The name the token fixes (1-32 characters, no whitespace or control characters). */
  readonly name: string;
  /** Lifetime in seconds; without it the token never expires. */
  readonly ttlSeconds?: number;
  /** The clock, in milliseconds since the epoch. Default `Date.now`. */
  readonly now?: () => number;
}

/** Mints a signed token for `options.name`. Throws RangeError for a bad name, ttl or secret. */
export function signToken(secret: string, options: SignOptions): string {
  checkSecret(secret);
  if (!isValidName(options.name)) throw new RangeError(`invalid name ${JSON.stringify(options.name)}`);
  const claims: { name: string; exp?: number } = { name: options.name };
  if (options.ttlSeconds !== undefined) {
    if (!(Number.isFinite(options.ttlSeconds) && options.ttlSeconds > 0)) throw new RangeError("ttlSeconds must be a positive number");
    claims.exp = Math.floor((options.now ?? Date.now)() / 1000 + options.ttlSeconds);
  }
  const payload = Buffer.from(JSON.stringify(claims), "utf8").toString("base64url");
  return `${payload}.${signature(secret, payload).toString("base64url")}`;
}

/** Checks signed tokens (see the module comment). Throws RangeError for a secret under 16 characters. */
export function signedTokenAuthenticator(secret: string, now: () => number = Date.now): Authenticator {
  checkSecret(secret);
  return (token) => {
    const parts = token.split(".");
    if (parts.length !== 2) return undefined;
    const [payload, sig] = parts as [string, string];
    const given = Buffer.from(sig, "base64url");
    // Only the canonical encoding: no two strings are the same signature.
    if (given.length !== 32 || given.toString("base64url") !== sig) return undefined;
    if (!timingSafeEqual(given, signature(secret, payload))) return undefined;
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    } catch {
      return undefined;
    }
    if (typeof claims !== "object" || claims === null) return undefined;
    const { name, exp } = claims as { name?: unknown; exp?: unknown };
    if (typeof name !== "string" || !isValidName(name)) return undefined;
    if (exp !== undefined && !(typeof exp === "number" && exp * 1000 > now())) return undefined;
    return name;
  };
}

/** The token of an upgrade request: `?token=…`, else `Authorization: Bearer …`; undefined when none. */
export function tokenFromRequest(request: UpgradeRequest): string | undefined {
  const fromQuery = new URLSearchParams(request.query).get("token");
  if (fromQuery !== null && fromQuery !== "") return fromQuery;
  const authorization = request.headers.get("authorization");
  const match = authorization === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  return match?.[1];
}
