/**
 * A smaller listener table for the `EventEmitter` base of connections.
 *
 * Node's `EventEmitter` constructor gives every emitter a `{ __proto__: null }` listener table,
 * which V8 keeps in dictionary mode: 184 B per object, the largest single item of an idle
 * connection above raw `node:net` (heap snapshot diff, 2,000 idle connections). Most server
 * connections never get a listener (the Wynd API receives the engine's events through its sink),
 * and the rest get a few listeners added in the same order.
 *
 * So the table is dropped at construction (`_events` undefined, which every `EventEmitter`
 * method accepts: it is how an emitter without listeners looked before Node made the table
 * eagerly) and made on the first listener as an instance of {@link ListenerTable}: an ordinary
 * fast-mode object whose prototype has no properties at all, so a lookup of an event without
 * listeners still finds nothing (as with a null prototype), in 40 B for two events instead of
 * 184 B. Node itself replaces it with its own table once the last listener is removed; nothing
 * else about the emitter changes.
 *
 * @module
 */

import { EventEmitter } from "node:events";

/** The listener table: no own properties until listeners come, a prototype without any. */
const ListenerTable = function ListenerTable(this: object): void {
  // Properties (event names) are added by EventEmitter.
} as unknown as new () => object;
ListenerTable.prototype = Object.create(null) as object;

/** The part of an `EventEmitter` this module touches (Node's, undocumented but stable). */
interface EmitterInternals {
  _events: object | undefined;
}

/** Drops the listener table the `EventEmitter` constructor made for `emitter` (see the module comment). */
export function dropListenerTable(emitter: EventEmitter): void {
  (emitter as unknown as EmitterInternals)._events = undefined;
}

type AddListener = (this: EventEmitter, event: string | symbol, listener: (...args: unknown[]) => void) => EventEmitter;

/**
 * Makes `prototype`'s listener-adding methods install a {@link ListenerTable} before Node's own
 * method runs, when the emitter has no table. Call once per class, on its prototype.
 */
export function useLeanListenerTables(prototype: EventEmitter): void {
  for (const name of ["on", "addListener", "once", "prependListener", "prependOnceListener"] as const) {
    const add = EventEmitter.prototype[name] as AddListener;
    Object.defineProperty(prototype, name, {
      configurable: true,
      writable: true,
      value: {
        [name](this: EventEmitter, event: string | symbol, listener: (...args: unknown[]) => void): EventEmitter {
          const internals = this as unknown as EmitterInternals;
          if (internals._events === undefined) internals._events = new ListenerTable();
          return add.call(this, event, listener);
        },
      }[name],
    });
  }
}
