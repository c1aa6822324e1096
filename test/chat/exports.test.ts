// The public surface of `wynd/chat`: the package's exports map points at it (types first), and
// its run-time exports are exactly the documented ones.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import * as chat from "../../src/chat/index.js";

it("wynd/chat is in the exports map, types first, and exports exactly the documented values", () => {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
    exports: Record<string, Record<string, string>>;
    files: string[];
  };
  const entry = pkg.exports["./chat"]!;
  assert.deepEqual(Object.keys(entry), ["types", "default"]);
  assert.deepEqual(entry, { types: "./dist/src/chat/index.d.ts", default: "./dist/src/chat/index.js" });
  assert.ok(pkg.files.includes("src"), "the browser client (src/chat/public) ships as it is, with the sources");
  assert.deepEqual(Object.keys(chat).sort(), [
    "DEFAULT_BURST",
    "DEFAULT_FILE_BYTES_PER_SECOND",
    "DEFAULT_HISTORY_MAX_FILE_BYTES",
    "DEFAULT_HISTORY_SIZE",
    "DEFAULT_MAX_FILE_BYTES",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "DEFAULT_RATE_PER_SECOND",
    "DataDirLockedError",
    "ErrorCode",
    "FILE_REFUSAL_SLACK_BYTES",
    "HELP_LINES",
    "HELP_TEXT",
    "HISTORY_FILE",
    "JSON_PROTOCOL",
    "LOBBY",
    "LOCK_FILE",
    "MAX_FILE_HEADER_BYTES",
    "MAX_HISTORY_ROOMS",
    "MAX_NAME_LENGTH",
    "WELCOME_TEXT",
    "createChatServer",
    "encodeFileFrame",
    "isFileError",
    "isValidName",
    "jsonProtocol",
    "parseFileFrame",
    "parseTokenList",
    "readTokenFile",
    "signToken",
    "signedTokenAuthenticator",
    "textProtocol",
    "tokenFromRequest",
  ]);
});
