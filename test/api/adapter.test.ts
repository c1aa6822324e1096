// Without an adapter option a Wynd is one node: wynd.adapter is the in-process adapter, which
// reaches nobody; an adapter given in the options hears the broadcasts and room changes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { InProcessAdapter, InvalidStateError, Wynd, type Adapter, type AdapterListener } from "../../src/index.js";

/** An adapter that records what the Wynd asks of it (the test double of a real one). */
class RecordingAdapter implements Adapter {
  readonly nodeId = "recording";
  state: "up" | "down" = "up";
  listener: AdapterListener | undefined;
  readonly calls: unknown[][] = [];
  bind(listener: AdapterListener): void {
    this.listener = listener;
  }
  publish(room: string | null, data: string | Uint8Array): void {
    this.calls.push(["publish", room, data]);
  }
  subscribe(room: string): void {
    this.calls.push(["subscribe", room]);
  }
  unsubscribe(room: string): void {
    this.calls.push(["unsubscribe", room]);
  }
  publishToNodes(message: string): void {
    this.calls.push(["publishToNodes", message]);
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

test("a Wynd without an adapter option uses the in-process adapter, up, reaching no other node", async () => {
  const wynd = new Wynd();
  const adapter = wynd.adapter;
  assert.ok(adapter instanceof InProcessAdapter);
  assert.equal(wynd.adapter, adapter, "the same adapter every time");
  assert.equal(adapter.state, "up");
  assert.match(adapter.nodeId, /^[0-9a-f]{16}$/);
  let heard = 0;
  wynd.onNodeMessage(() => void heard++);
  wynd.publishToNodes("to nobody");
  assert.equal(wynd.broadcast("nobody is connected"), 0);
  assert.equal(wynd.to("empty").broadcast("x"), 0);
  await adapter.flush();
  assert.equal(heard, 0);
  assert.throws(() => new Wynd({ adapter }), InvalidStateError, "an adapter serves one Wynd");
  await wynd.close();
});

test("with an adapter, every kind of broadcast is published and a room with no member too", async () => {
  const adapter = new RecordingAdapter();
  const wynd = new Wynd({ adapter });
  assert.equal(wynd.adapter, adapter);
  assert.equal(wynd.broadcast("all"), 0);
  assert.equal(wynd.to("r").broadcast(Uint8Array.of(1)), 0);
  wynd.publishToNodes("ctl");
  assert.deepEqual(adapter.calls, [
    ["publish", null, "all"],
    ["publish", "r", Uint8Array.of(1)],
    ["publishToNodes", "ctl"],
  ]);
  // A broadcast of something that is neither text nor bytes throws before anything is published.
  assert.throws(() => wynd.to("r").broadcast(5 as never), TypeError);
  assert.equal(adapter.calls.length, 3);
  await wynd.close();
});

test("the adapter's state changes reach onAdapterState, and each outage onError once", async () => {
  const adapter = new RecordingAdapter();
  const wynd = new Wynd({ adapter });
  const states: string[] = [];
  const errors: Error[] = [];
  wynd.onAdapterState((state, error) => void states.push(`${state}:${error?.message ?? ""}`));
  wynd.onError((error) => void errors.push(error));
  const outage = new Error("connection refused");
  adapter.listener!.stateChange("down", outage);
  adapter.listener!.stateChange("down", outage);
  adapter.listener!.stateChange("up");
  adapter.listener!.stateChange("down", outage);
  assert.deepEqual(states, ["down:connection refused", "up:", "down:connection refused"]);
  assert.deepEqual(errors, [outage, outage]);
  // Node messages from other nodes reach the handlers; a throwing handler goes to onError.
  const heard: string[] = [];
  wynd.onNodeMessage((message) => void heard.push(message));
  wynd.onNodeMessage(() => {
    throw new Error("handler bug");
  });
  adapter.listener!.nodeMessage("hi");
  assert.deepEqual(heard, ["hi"]);
  assert.equal(errors.at(-1)?.message, "handler bug");
  await wynd.close();
});
