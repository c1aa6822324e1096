// The rules for names and rooms, and the validation of createChatServer's options.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jsonClient, startChat, textClient } from "./helpers.js";
import { createChatServer, isValidName } from "../../src/chat/index.js";
import { confusableKey, isSingleScript } from "../../src/chat/confusables.js";
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

  it("accepts names of one script, Common and Inherited characters going with any (UTS #39 single script)", () => {
    // Latin, Cyrillic, Greek, Japanese (Han + Hiragana + Katakana), Korean, digits and emoji with a
    // script, a combining accent (Inherited) on Cyrillic, the prolonged sound mark (Hiragana and Katakana).
    for (const name of ["alice", "Алиса", "Ελένη", "山田たろう", "カタカナー", "김민준", "bob_42", "Иван_2", "🎉", "12", "й", "й", "élodie", "日本語"]) {
      assert.ok(isSingleScript(name), name);
      assert.ok(isValidName(name), name);
    }
    // Cyrillic а + Latin lice; Latin + Greek omicron; Cyrillic + Greek; Han + Latin; Hangul + Hiragana.
    for (const name of ["\u0430lice", "b\u03bfb", "\u0430\u03b1", "山田taro", "김たろう"]) {
      assert.ok(!isSingleScript(name), name);
      assert.ok(!isValidName(name), name);
    }
  });

  it("folds the common Latin, Cyrillic and Greek look-alikes into one name key", () => {
    // Cyrillic а in a Latin name; all-Cyrillic аее and Latin aee; Greek ΑΒΕ (upper case) and Latin abe;
    // fullwidth and mathematical letters; digits 0 and 1 as o and l; case ignored through it all.
    assert.equal(nameKey("\u0430lice"), nameKey("alice"));
    assert.equal(nameKey("\u0430\u0435\u0435"), nameKey("aee"));
    assert.equal(nameKey("\u0391\u0392\u0395"), nameKey("abe"));
    assert.equal(nameKey("\u041d\u041e\u0422"), nameKey("HOT"));
    assert.equal(nameKey("ａｌｉｃｅ"), nameKey("alice"));
    assert.equal(nameKey("\u{1d41a}lice"), nameKey("alice"));
    assert.equal(nameKey("b0b"), nameKey("BOB"));
    assert.equal(nameKey("pau1"), nameKey("Paul"));
    assert.equal(nameKey("\u0451"), nameKey("\u00eb"), "Cyrillic ё and Latin ë: the base letter folds, the accent stays");
    // Accents are visible: they still tell names apart.
    assert.notEqual(nameKey("élodie"), nameKey("elodie"));
    assert.notEqual(nameKey("\u0431\u043e\u0431"), nameKey("bob"));
    assert.equal(confusableKey("Алиса"), confusableKey("алиса"));
  });

  it("answers name-taken to a look-alike of an online name, and invalid-name to a mixed-script one", async (t) => {
    const { ws } = await startChat(t);
    await textClient(t, ws, "alice");
    await jsonClient(t, ws, "aee");
    const mallory = await jsonClient(t, ws);
    for (const name of ["\u0430lice", "\u0410LICE", "\u0430\u0435\u0435", "AEE"]) {
      mallory.sendJson({ type: "name", name });
      assert.deepEqual(await mallory.event("error"), { type: "error", code: "name-taken", message: `The name ${name} is already taken` }, name);
    }
    mallory.sendJson({ type: "name", name: "b\u03bfb" });
    const error = await mallory.event("error");
    assert.equal(error["code"], "invalid-name");
    assert.match(String(error["message"]), /one script/);
    const text = await textClient(t, ws);
    text.send("/name \u0430lice");
    await text.expect("The name \u0430lice is already taken");
    text.send("/name \u0430\u0435\u0435\u0435");
    await text.expect("You are now known as \u0430\u0435\u0435\u0435");
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
