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
 *
 * @module
 */

import { InvalidStateError, WyndError, type Adapter, type AdapterListener, type AdapterState } from "../index.js";
import { EnvelopeCodec, Kind } from "./envelope.js";
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
}

/**
 * An {@link Adapter} on Redis, made by `createRedisAdapter()`. Give it to `new Wynd({ adapter })`;
 * close it with `close()` (a `Wynd` never closes its adapter).
 */
export class RedisAdapter implements Adapter {
  /**
   * The connected command client (the one that publishes). The application may use it for its
   * own commands (`client.sendCommand([...])`, typed commands); it must not SUBSCRIBE on it.
   */
  readonly client: AnyRedisClient;
  readonly nodeId: string;
  /** Publications dropped because Redis was down (they are not queued: memory stays bounded). */
  droppedPublications = 0;
  readonly #subscriber: AnyRedisClient;
  readonly #ownsClient: boolean;
  readonly #codec: EnvelopeCodec;
  readonly #prefix: string;
  readonly #allChannel: string;
  readonly #nodesChannel: string;
  /** The rooms this node needs (has local members in): what it must be subscribed to. */
  readonly #rooms = new Map<string, (message: Buffer) => void>();
  #listener: AdapterListener | undefined;
  #state: AdapterState = "up";
  #closed: Promise<void> | undefined;
  /** The last publish and subscription change sent, each settled either way: see flush(). */
  #lastPublish: Promise<void> = Promise.resolve();
  #lastSubscription: Promise<void> = Promise.resolve();
  readonly #reportPublishError = (error: unknown): void => this.#report(error, "publish");
  readonly #reportSubscribeError = (error: unknown): void => this.#report(error, "subscribe");

  /** @internal Use `createRedisAdapter()`. */
  constructor(init: RedisAdapterInit) {
    this.client = init.client;
    this.#subscriber = init.subscriber;
    this.#ownsClient = init.ownsClient;
    this.nodeId = init.nodeId;
    this.#codec = new EnvelopeCodec(init.nodeId);
    this.#prefix = init.channelPrefix;
    this.#allChannel = `${init.channelPrefix}:all`;
    this.#nodesChannel = `${init.channelPrefix}:nodes`;
    for (const connection of [this.client, this.#subscriber]) {
      // Without an "error" listener a lost connection would crash the process.
      connection.on("error", (error: Error) => this.#setState("down", error));
      connection.on("ready", () => {
        if (this.client.isReady && this.#subscriber.isReady) this.#setState("up", undefined);
      });
    }
  }

  /** @internal Subscribes the channels every node listens to; called once by `createRedisAdapter`. */
  async start(): Promise<void> {
    await this.#subscriber.subscribe(this.#allChannel, (message: Buffer) => this.#receive(Kind.EVERYONE, null, message), true);
    await this.#subscriber.subscribe(this.#nodesChannel, (message: Buffer) => this.#receive(Kind.NODE, null, message), true);
  }

  /** `"down"` from a connection error until both connections are ready again. */
  get state(): AdapterState {
    return this.#state;
  }

  /** The rooms this node is subscribed to (or subscribing), i.e. has local members in. */
  subscribedRooms(): string[] {
    return [...this.#rooms.keys()];
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

  publishToNodes(message: string): void {
    this.#publish(this.#nodesChannel, this.#codec.encode(Kind.NODE, message));
  }

  subscribe(room: string): void {
    if (this.#closed !== undefined || this.#rooms.has(room)) return;
    const listener = (message: Buffer): void => this.#receive(Kind.ROOM, room, message);
    this.#rooms.set(room, listener);
    this.#lastSubscription = this.#subscriber
      .subscribe(this.#roomChannel(room), listener, true)
      .then(undefined, this.#reportSubscribeError);
  }

  unsubscribe(room: string): void {
    if (this.#closed !== undefined) return;
    const listener = this.#rooms.get(room);
    if (listener === undefined) return;
    this.#rooms.delete(room);
    this.#lastSubscription = this.#subscriber
      .unsubscribe(this.#roomChannel(room), listener, true)
      .then(undefined, this.#reportSubscribeError);
  }

  flush(): Promise<void> {
    return Promise.all([this.#lastPublish, this.#lastSubscription]).then(ignore);
  }

  /**
   * Closes the subscriber connection, and the command client when the adapter created it (not a
   * client given with the `client` option). Idempotent; later publications are dropped and
   * subscription changes ignored, so closing before or after the `Wynd` are both safe.
   */
  close(): Promise<void> {
    return (this.#closed ??= this.#close());
  }

  async #close(): Promise<void> {
    this.#rooms.clear();
    const connections = this.#ownsClient ? [this.#subscriber, this.client] : [this.#subscriber];
    await Promise.all(connections.map((connection) => closeConnection(connection)));
  }

  #roomChannel(room: string): string {
    return `${this.#prefix}:room:${room}`;
  }

  #publish(channel: string, envelope: Buffer): void {
    // While Redis is down a publication is dropped, not queued: the queue would grow without
    // bound during an outage, and stale chat lines delivered minutes later help nobody.
    if (this.#closed !== undefined || this.#state === "down") {
      this.droppedPublications++;
      return;
    }
    this.#lastPublish = this.client.publish(channel, envelope).then(ignore, this.#reportPublishError);
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

  #setState(state: AdapterState, error: Error | undefined): void {
    if (this.#closed !== undefined || state === this.#state) return;
    this.#state = state;
    this.#listener?.stateChange(state, error);
  }

  #report(error: unknown, what: string): void {
    if (this.#closed !== undefined) return;
    const cause = error instanceof Error ? error : new Error(String(error));
    this.#listener?.error(new WyndError("ERR_REDIS_ADAPTER", `Redis adapter: ${what} failed: ${cause.message}`, { cause }));
  }
}

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
