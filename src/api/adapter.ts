/**
 * The adapter: everything a `Wynd` needs to reach other nodes (processes or machines serving the
 * same application), behind one small interface, after Centrifuge's `Broker`.
 *
 * A node delivers every broadcast to its own local members itself, framed once, then hands the
 * message to its adapter, which publishes it to the other nodes; each of them frames it once and
 * writes the same bytes to its local members. A node subscribes a room when the room's first
 * local member joins and unsubscribes when its last one leaves, so a node receives only the rooms
 * it has members in (plus "everyone" and the node messages).
 *
 * Without an adapter option `Wynd` uses no adapter at all on its broadcast path (a field check),
 * and `wynd.adapter` answers an {@link InProcessAdapter}, which reaches no other node.
 *
 * @module
 */

import { randomBytes } from "node:crypto";
import { InvalidStateError } from "../errors.js";

/** Whether an adapter can reach the other nodes (`"up"`) or not (`"down"`, e.g. Redis is gone). */
export type AdapterState = "up" | "down";

/**
 * What a `Wynd` gives its adapter (see {@link Adapter.bind}): the adapter calls these when
 * something arrives from another node or its state changes. None of them throws.
 */
export interface AdapterListener {
  /**
   * Another node published `payload` to `room` (`null`: to every client). `isBinary` tells a
   * binary message from a text one (whose payload is UTF-8). The node delivers it to its local
   * members (of the room, or all its clients), framed once. The payload is not kept past the
   * local writes' queueing and may be a view into a larger buffer.
   */
  publication(room: string | null, payload: Uint8Array, isBinary: boolean): void;
  /** Another node sent `message` with `publishToNodes`. */
  nodeMessage(message: string): void;
  /**
   * The adapter's state changed; `error` says why it went down. An adapter calls it once when an
   * outage starts (not for every failed reconnection) and once when it is over, that is when
   * the node receives every room it has members in again.
   */
  stateChange(state: AdapterState, error?: Error): void;
  /** Something went wrong that is not a state change (a malformed message from another node...). */
  error(error: Error): void;
}

/**
 * The cross-node side of a `Wynd`. An adapter serves one `Wynd` (one node). Its methods never
 * throw for a transient failure (Redis unreachable...): they report it through the listener and
 * keep going; and they must not keep a `Uint8Array` they are given past the call (the caller may
 * reuse it), which is why they copy or encode it at once.
 */
export interface Adapter {
  /** This node's identity, unique in the cluster (messages carry it, so a node skips its own). */
  readonly nodeId: string;
  /** Whether the other nodes can be reached now. */
  readonly state: AdapterState;
  /**
   * Called once by the `Wynd` this adapter serves, before any other method. Throws
   * `InvalidStateError` when the adapter already serves another `Wynd` or is closed.
   */
  bind(listener: AdapterListener): void;
  /**
   * Publishes a message to the other nodes' members of `room` (`null`: to every client of every
   * other node). `data`: a string is a text message, bytes a binary one. The local members were
   * reached by the caller already; the adapter must not deliver it back to this node.
   */
  publish(room: string | null, data: string | Uint8Array): void;
  /**
   * Optional: the channel and the bytes of a publication of `data` to `room` that every node
   * delivers, this one included, for the application to publish itself through the adapter's
   * broker (the Redis adapter's: in a Lua script, in one step with a write). Adapters that
   * cannot offer it leave it out.
   */
  encodePublication?(room: string, data: string | Uint8Array): { channel: string; message: Buffer };
  /** The first local member joined `room`: start receiving its publications. */
  subscribe(room: string): void;
  /** The last local member left `room`: stop receiving its publications. */
  unsubscribe(room: string): void;
  /** Sends `message` to every other node's `onNodeMessage` handlers (never to this node). */
  publishToNodes(message: string): void;
  /**
   * Resolves once every subscribe, unsubscribe and publish issued so far has taken effect (for an
   * adapter that works asynchronously; tests and applications that must know a subscription is
   * live await it). Never rejects: failures went to the listener.
   */
  flush(): Promise<void>;
  /** Releases what the adapter opened; idempotent. `Wynd` never calls it (see `WyndOptions.adapter`). */
  close(): Promise<void>;
}

/**
 * The adapter of a single node: the default. It reaches no other node (publications and node
 * messages go nowhere) and is always up. `new Wynd()` does not even call it on its broadcast
 * path; passing one explicitly behaves the same, a little slower.
 */
export class InProcessAdapter implements Adapter {
  /** A random id, for symmetry with the adapters of several nodes. */
  readonly nodeId: string = randomBytes(8).toString("hex");
  #bound = false;

  /** Always `"up"`: nothing can go down. */
  get state(): AdapterState {
    return "up";
  }

  bind(_listener: AdapterListener): void {
    if (this.#bound) throw new InvalidStateError("this adapter already serves a Wynd");
    this.#bound = true;
  }

  publish(_room: string | null, _data: string | Uint8Array): void {
    // No other node.
  }

  subscribe(_room: string): void {
    // Local members are reached by the Wynd itself.
  }

  unsubscribe(_room: string): void {
    // Nothing was subscribed.
  }

  publishToNodes(_message: string): void {
    // No other node.
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
