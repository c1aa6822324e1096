/**
 * The Redis adapter: the nodes of one application exchange their broadcasts through Redis
 * pub/sub (socket.io's Redis adapter and Centrifugo's Redis engine do the same).
 *
 * - One channel per room (`<prefix>:room:<name>`), SUBSCRIBEd while the node has a local member
 *   in it, never a pattern subscription: a node receives only the rooms it serves. One channel
 *   for messages to everyone (`<prefix>:all`) and one for node messages (`<prefix>:nodes`).
 * - Two connections per node: the command client publishes (one connection, so the messages of
 *   one sender reach Redis, and every other node, in the order they were sent) and a duplicate
 *   subscribes (a subscribed connection can do nothing else).
 * - Each publication carries the publishing node's id (see envelope.ts): a node that receives its
 *   own publication drops it, as it delivered it to its local members already.
 * - Redis outages (docs/scaling.md, "Redis outages and guarantees"): publications are dropped and
 *   counted, never queued; subscription changes only touch the bookkeeping; on recovery the
 *   subscriptions are reconciled with it, because the client's own resubscribe is not enough.
 *
 * @module
 */

import { InvalidStateError, WyndError, type Adapter, type AdapterListener, type AdapterState } from "../index.js";
import { EnvelopeCodec, EVERY_NODE, Kind } from "./envelope.js";
import type { RedisClientType } from "@redis/client";

/** The `@redis/client` client the adapter works with (RESP3 or 2, any modules). */
export type AnyRedisClient = RedisClientType<any, any, any, any, any>;

/** What {@link RedisAdapter}'s constructor needs; see `createRedisAdapter` for the options. @internal */
export interface RedisAdapterInit {
  readonly client: AnyRedisClient;
  readonly subscriber: AnyRedisClient;
  readonly ownsClient: boolean;
  readonly nodeId: string;
  readonly channelPrefix: string;
  readonly maxPendingPublishBytes: number;
}

/** The default of `maxPendingPublishBytes`: Redis' own hard limit for a subscriber's output. */
export const DEFAULT_MAX_PENDING_PUBLISH_BYTES = 32 * 1024 * 1024;

/**
 * An {@link Adapter} on Redis, made by `createRedisAdapter()`. Give it to `new Wynd({ adapter })`;
 * close it with `close()` (a `Wynd` never closes its adapter).
 *
 * When Redis goes away the node keeps serving its own clients: a broadcast still reaches the
 * local members, its publication is dropped and counted ({@link droppedPublications}), nothing
 * is queued. The adapter goes `"down"` once per outage (the `Wynd` tells its `onError` and
 * `onAdapterState` handlers) and, once both connections are back, makes the subscriber's
 * channels match the rooms the node has members in NOW (rooms joined during the outage are
 * subscribed, rooms left are not), then goes `"up"`.
 */
export class RedisAdapter implements Adapter {
  /**
   * The connected command client (the one that publishes). The application may use it for its
   * own commands (`client.sendCommand([...])`, typed commands); it must not SUBSCRIBE on it.
   */
  readonly client: AnyRedisClient;
  readonly nodeId: string;
  /**
   * Publications dropped, not sent: while the command connection is down, past
   * `maxPendingPublishBytes` unacknowledged bytes, after `close()`, or lost in flight when the
   * connection broke. Nothing is queued for later, so memory stays bounded during an outage.
   */
  droppedPublications = 0;
  /** The bound on {@link pendingPublishBytes} (see `RedisAdapterOptions.maxPendingPublishBytes`). */
  readonly maxPendingPublishBytes: number;
  readonly #subscriber: AnyRedisClient;
  readonly #ownsClient: boolean;
  readonly #codec: EnvelopeCodec;
  readonly #prefix: string;
  readonly #allChannel: string;
  readonly #nodesChannel: string;
  /** The rooms this node needs (has local members in), by channel: what it must be subscribed to. */
  readonly #channelRooms = new Map<string, string>();
  #listener: AdapterListener | undefined;
  #state: AdapterState = "up";
  #closed: Promise<void> | undefined;
  #pendingPublishBytes = 0;
  /** Bumped by each recovery, so that a recovery overtaken by a newer outage never says "up". */
  #recoveries = 0;
  /** The last publish and subscription change sent, each settled either way: see flush(). */
  #lastPublish: Promise<void> = Promise.resolve();
  #lastSubscription: Promise<void> = Promise.resolve();
  // One listener per kind of channel, whatever the number of rooms: subscribing a channel the
  // client holds already is then a no-op, never a second listener (a duplicate delivery).
  readonly #onEveryone = (message: Buffer): void => this.#receive(Kind.EVERYONE, null, message);
  readonly #onNodes = (message: Buffer): void => this.#receive(Kind.NODE, null, message);
  readonly #onRoom = (message: Buffer, channel: Buffer | string): void => {
    const room = this.#channelRooms.get(typeof channel === "string" ? channel : channel.toString("utf8"));
    // A message of a room left while its UNSUBSCRIBE was on its way: no local member wants it.
    if (room !== undefined) this.#receive(Kind.ROOM, room, message);
  };
  readonly #onSubscriptionError = (error: unknown): void => this.#commandFailed(error, this.#subscriber, "subscribe");
  readonly #connectionListeners: ReadonlyArray<readonly [AnyRedisClient, string, (...args: any[]) => void]>;

  /** @internal Use `createRedisAdapter()`. */
  constructor(init: RedisAdapterInit) {
    this.client = init.client;
    this.#subscriber = init.subscriber;
    this.#ownsClient = init.ownsClient;
    this.nodeId = init.nodeId;
    this.maxPendingPublishBytes = init.maxPendingPublishBytes;
    this.#codec = new EnvelopeCodec(init.nodeId);
    this.#prefix = init.channelPrefix;
    this.#allChannel = `${init.channelPrefix}:all`;
    this.#nodesChannel = `${init.channelPrefix}:nodes`;
    const listeners: Array<readonly [AnyRedisClient, string, (...args: any[]) => void]> = [];
    for (const connection of [this.client, this.#subscriber]) {
      // Without an "error" listener a lost connection would crash the process. The client emits
      // "error" for the loss and again for every failed reconnection attempt: only the first
      // changes the state, so an outage is reported once.
      listeners.push([connection, "error", (error: Error) => this.#connectionError(connection, error)]);
      // The reconnect strategy gave up (only a given client's own strategy can): down for good.
      listeners.push([connection, "terminated", (error: Error) => this.#setState("down", error)]);
      // "ready" comes after the client re-sent the SUBSCRIBEs it knew about.
      listeners.push([connection, "ready", () => this.#recover()]);
    }
    for (const [connection, event, listener] of listeners) connection.on(event, listener);
    this.#connectionListeners = listeners;
  }

  /** @internal Subscribes the channels every node listens to; called once by `createRedisAdapter`. */
  async start(): Promise<void> {
    await this.#subscriber.subscribe(this.#allChannel, this.#onEveryone, true);
    await this.#subscriber.subscribe(this.#nodesChannel, this.#onNodes, true);
  }

  /**
   * `"down"` from the loss of either connection until both are back and the subscriptions match
   * the node's rooms again.
   */
  get state(): AdapterState {
    return this.#state;
  }

  /**
   * Bytes of publications written to Redis and not yet acknowledged. Bounded by
   * {@link maxPendingPublishBytes}: a slow or silently unreachable Redis cannot grow it further.
   */
  get pendingPublishBytes(): number {
    return this.#pendingPublishBytes;
  }

  /** @internal The subscriber connection (a duplicate of `client`), for tests that inspect it. */
  get subscriber(): AnyRedisClient {
    return this.#subscriber;
  }

  /** The rooms this node is subscribed to (or subscribing, or will be on recovery): those it has local members in. */
  subscribedRooms(): string[] {
    return [...this.#channelRooms.values()];
  }

  bind(listener: AdapterListener): void {
    if (this.#closed !== undefined) throw new InvalidStateError("this Redis adapter is closed");
    if (this.#listener !== undefined) throw new InvalidStateError("this Redis adapter already serves a Wynd");
    this.#listener = listener;
  }

  publish(room: string | null, data: string | Uint8Array): void {
    if (room === null) this.#publish(this.#allChannel, this.#codec.encode(Kind.EVERYONE, data));
    else this.#publish(this.#roomChannel(room), this.#codec.encode(Kind.ROOM, data));
  }

  /**
   * The channel and the bytes of a publication of `data` to `room` that every node delivers to
   * its members of `room`, this one included (unlike {@link publish}, whose node has delivered
   * it itself), for the application to PUBLISH itself: in a Lua script, say, in one step with
   * the write it announces, so that every node hears them in the order they were written. The
   * bytes are a binary-safe string for Redis; they may be cut and put together again around a
   * part of `data` that only the script knows (an id it makes), as long as `data`'s bytes stay
   * valid UTF-8 for a text message.
   */
  encodePublication(room: string, data: string | Uint8Array): { channel: string; message: Buffer } {
    return { channel: this.#roomChannel(room), message: this.#codec.encode(Kind.ROOM, data, EVERY_NODE) };
  }

  publishToNodes(message: string): void {
    this.#publish(this.#nodesChannel, this.#codec.encode(Kind.NODE, message));
  }

  subscribe(room: string): void {
    const channel = this.#roomChannel(room);
    if (this.#closed !== undefined || this.#channelRooms.has(channel)) return;
    this.#channelRooms.set(channel, room);
    // While the subscriber is down only the bookkeeping changes (a SUBSCRIBE would wait in the
    // client's offline queue, one per join, without bound): the recovery subscribes it.
    if (!this.#subscriber.isReady) return;
    this.#lastSubscription = this.#subscriber.subscribe(channel, this.#onRoom, true).then(ignore, this.#onSubscriptionError);
  }

  unsubscribe(room: string): void {
    const channel = this.#roomChannel(room);
    if (this.#closed !== undefined || !this.#channelRooms.delete(channel)) return;
    if (!this.#subscriber.isReady) return;
    this.#lastSubscription = this.#subscriber.unsubscribe(channel, this.#onRoom, true).then(ignore, this.#onSubscriptionError);
  }

  /**
   * Resolves once every publish and subscription change issued so far has taken effect in Redis,
   * and a recovery under way is done. While Redis is down it resolves without waiting: the
   * changes made meanwhile take effect on recovery (watch `onAdapterState("up")`).
   */
  flush(): Promise<void> {
    return Promise.all([this.#lastPublish, this.#lastSubscription]).then(ignore);
  }

  /**
   * Closes the subscriber connection, and the command client when the adapter created it (not a
   * client given with the `client` option, from which it removes its listeners). Idempotent;
   * later publications are dropped and subscription changes ignored, so closing before or after
   * the `Wynd` are both safe.
   */
  close(): Promise<void> {
    return (this.#closed ??= this.#close());
  }

  async #close(): Promise<void> {
    this.#channelRooms.clear();
    const connections = this.#ownsClient ? [this.#subscriber, this.client] : [this.#subscriber];
    await Promise.all(connections.map((connection) => closeConnection(connection)));
    // Errors of a closing connection are expected; a given client lives on without our listeners.
    for (const [connection, event, listener] of this.#connectionListeners) {
      if (connection === this.client && !this.#ownsClient) connection.off(event, listener);
    }
  }

  /**
   * The channel of `room`. A name that is not well-formed UTF-16 (a lone surrogate) has no UTF-8
   * form: Redis would get U+FFFD for it, so that two such rooms would share a channel and the
   * client would not even find its listener for the name it subscribed. Such a name gets a
   * channel of its own namespace, `room16:` and its UTF-16 code units in hex, which no
   * well-formed name (under `room:`) can meet.
   */
  #roomChannel(room: string): string {
    if (!LONE_SURROGATE.test(room)) return `${this.#prefix}:room:${room}`;
    let hex = "";
    for (let i = 0; i < room.length; i++) hex += room.charCodeAt(i).toString(16).padStart(4, "0");
    return `${this.#prefix}:room16:${hex}`;
  }

  #publish(channel: string, envelope: Buffer): void {
    // Dropped, not queued, while the command connection is down (the client would keep it in
    // its offline queue, without bound during an outage, and stale chat lines delivered minutes
    // later help nobody), and past maxPendingPublishBytes unacknowledged (a Redis that stopped
    // answering without closing the connection). One publication always fits, however large.
    const size = envelope.byteLength;
    if (
      this.#closed !== undefined ||
      !this.client.isReady ||
      (this.#pendingPublishBytes > 0 && this.#pendingPublishBytes + size > this.maxPendingPublishBytes)
    ) {
      this.droppedPublications++;
      return;
    }
    this.#pendingPublishBytes += size;
    this.#lastPublish = this.client.publish(channel, envelope).then(
      () => {
        this.#pendingPublishBytes -= size;
      },
      (error: unknown) => {
        this.#pendingPublishBytes -= size;
        this.droppedPublications++;
        this.#commandFailed(error, this.client, "publish");
      },
    );
  }

  #receive(expected: Kind, room: string | null, message: Buffer): void {
    const listener = this.#listener;
    if (listener === undefined || this.#closed !== undefined) return;
    let envelope;
    try {
      envelope = this.#codec.decode(message);
    } catch (error) {
      listener.error(error as Error);
      return;
    }
    // This node's own publication: its local members have it already.
    if (envelope === undefined || envelope.kind !== expected) return;
    if (expected === Kind.NODE) listener.nodeMessage(envelope.payload.toString("utf8"));
    else listener.publication(room, envelope.payload, envelope.isBinary);
  }

  #connectionError(connection: AnyRedisClient, error: Error): void {
    if (this.#closed !== undefined) return;
    // A connection that is still ready had a glitch (a reply it could not parse...), not an outage.
    if (connection.isReady) this.#report(error, "connection");
    else this.#setState("down", error);
  }

  /**
   * Both connections are ready again: make the subscriber's channels match the node's rooms. The
   * client re-sent the SUBSCRIBEs it knew about, but not those that were in flight when the
   * connection broke (rejected, their listeners never registered), and it re-sent those whose
   * UNSUBSCRIBE was in flight (still registered); and the rooms joined or left during the outage
   * were only written down. So: unsubscribe what the client holds and the node does not need,
   * subscribe what it needs and the client does not hold, then say "up".
   */
  #recover(): void {
    if (this.#closed !== undefined || !this.client.isReady || !this.#subscriber.isReady) return;
    const recovery = ++this.#recoveries;
    const held = new Set<string>();
    for (const [channel, listeners] of this.#subscriber.getPubSubListeners("CHANNELS")) {
      if (!listeners.unsubscribing) held.add(channel);
    }
    const work: Array<Promise<unknown>> = [];
    const extra = [...held].filter((channel) => channel !== this.#allChannel && channel !== this.#nodesChannel && !this.#channelRooms.has(channel));
    if (extra.length > 0) work.push(this.#subscriber.unsubscribe(extra));
    if (!held.has(this.#allChannel)) work.push(this.#subscriber.subscribe(this.#allChannel, this.#onEveryone, true));
    if (!held.has(this.#nodesChannel)) work.push(this.#subscriber.subscribe(this.#nodesChannel, this.#onNodes, true));
    const missing = [...this.#channelRooms.keys()].filter((channel) => !held.has(channel));
    if (missing.length > 0) work.push(this.#subscriber.subscribe(missing, this.#onRoom, true));
    const done = Promise.all(work).then(
      () => {
        // A newer outage (or recovery) overtook this one: its own recovery will decide.
        if (recovery === this.#recoveries && this.client.isReady && this.#subscriber.isReady) this.#setState("up", undefined);
      },
      this.#onSubscriptionError,
    );
    this.#lastSubscription = done;
  }

  #setState(state: AdapterState, error: Error | undefined): void {
    if (this.#closed !== undefined || state === this.#state) return;
    this.#state = state;
    this.#listener?.stateChange(state, error);
  }

  /**
   * A command failed. When its connection is down that is the outage, reported once already
   * (and the recovery redoes what matters); otherwise Redis refused it (an ACL...): report it.
   */
  #commandFailed(error: unknown, connection: AnyRedisClient, what: string): void {
    if (this.#closed !== undefined || !connection.isReady) return;
    this.#report(error, what);
  }

  #report(error: unknown, what: string): void {
    if (this.#closed !== undefined) return;
    const cause = error instanceof Error ? error : new Error(String(error));
    this.#listener?.error(new WyndError("ERR_REDIS_ADAPTER", `Redis adapter: ${what} failed: ${cause.message}`, { cause }));
  }
}

/** A lone surrogate (with the `u` flag a surrogate pair is one code point and does not match). */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function ignore(): void {
  // Settles a tracked promise with undefined.
}

/** Closes a connection politely when it is up, at once when it is not (close() would wait). */
async function closeConnection(connection: AnyRedisClient): Promise<void> {
  if (!connection.isOpen) return;
  if (!connection.isReady) {
    connection.destroy();
    return;
  }
  try {
    await connection.close();
  } catch {
    connection.destroy();
  }
}
