/**
 * The text message being handled, with the UTF-8 bytes it was decoded from, so that sending or
 * broadcasting that very string again (an echo, a chat message forwarded to a room) writes the
 * received bytes instead of encoding the string anew.
 *
 * In the pipelined echo through the API, encoding the string again (`Buffer.byteLength` then
 * `utf8Write`) was ~8% of the server's time. The bytes are the UTF-8 of the string whichever
 * connection sends it, and the frame parser never writes to a delivered message's bytes again,
 * so they may be used as they are. Only one message is remembered, and only while its handlers
 * run synchronously: a socket chunk is never kept alive by it.
 *
 * @module
 */

let text: string | undefined;
let bytes: Buffer | undefined;

/** Remembers `decoded`, the string of the text message `source`, while its handlers run. @internal */
export function rememberDecoded(decoded: string, source: Buffer): void {
  text = decoded;
  bytes = source;
}

/** Forgets the remembered message (its handlers have returned). @internal */
export function forgetDecoded(): void {
  text = undefined;
  bytes = undefined;
}

/**
 * The UTF-8 bytes of `value` when it is the text message being handled (compared by value: a
 * string equal to it has the same UTF-8), else undefined. @internal
 */
export function utf8Of(value: string): Buffer | undefined {
  return value === text ? bytes : undefined;
}
