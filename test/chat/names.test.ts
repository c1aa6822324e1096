// The rules for names and rooms, and the validation of createChatServer's options.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startChat } from "./helpers.js";
import { createChatServer, isValidName } from "../../src/chat/index.js";
import { nameKey, roomKey } from "../../src/chat/names.js";

describe("chat: names and options", () => {
  it("accepts 1-32 visible characters without whitespace, counting code points", () => {
    for (const name of ["a", "Alice", "bob_42", "élodie", "日本語", "🎉", "x".repeat(32), "🎉".repeat(32), "a-b.c"]) {
      assert.ok(isValidName(name), name);
    }
    for (const name of ["", "x".repeat(33), "🎉".repeat(33), "a b", "a\tb", "a\nb", "a\u0000b", "a\u007fb", "a\u00a0b", "a\u200bb", "a\u202eb", "\u3000", "a\ud800b"]) {
      assert.ok(!isValidName(name), JSON.stringify(name));
    }
  });

  it("compares names and rooms ignoring case and normalization form", () => {
    assert.equal(nameKey("ALICE"), nameKey("alice"));
    assert.equal(nameKey("E\u0301lodie"), nameKey("élodie"));
    assert.equal(roomKey("Dev"), "dev");
  });

  it("rejects invalid options with a RangeError or TypeError", () => {
    assert.throws(() => createChatServer({ maxMessageBytes: 0 }), RangeError);
    assert.throws(() => createChatServer({ maxFileBytes: -1 }), RangeError);
    assert.throws(() => createChatServer({ historySize: 1.5 }), RangeError);
    assert.throws(() => createChatServer({ rateLimit: { burst: 0 } }), RangeError);
    assert.throws(() => createChatServer({ auth: "secret" as unknown as () => undefined }), TypeError);
  });

  it("rejects listen() on a port in use, and close() before listen() resolves", async (t) => {
    const { chat } = await startChat(t);
    const other = createChatServer({ onError: () => undefined });
    await assert.rejects(other.listen(chat.address!.port, "127.0.0.1"), { code: "EADDRINUSE" });
    await other.close();
    const unused = createChatServer();
    await unused.close();
    await assert.rejects(unused.listen(0), /closed/);
  });
});
