/**
 * The chat's HTTP side: the static files of the browser client (`GET /` → `index.html`, its
 * five scripts and `GET /style.css`), nothing else. Routes are an exact
 * allow-list of paths, so no request can name another file (no path traversal, whatever its
 * encoding); other paths get 404, other methods 405. Every response carries the security
 * headers below.
 *
 * Files are read at each request (they are small, and an edited page shows on reload).
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * Where the client's files are, found from this compiled module (`<outDir>/src/chat/*.js`) to
 * the sources (`src/chat/public/`), which the package ships as they are (no build step).
 */
export const DEFAULT_PUBLIC_DIR = new URL("../../../src/chat/public/", import.meta.url);

/** The served paths: file name and Content-Type. */
export const STATIC_ROUTES: Readonly<Record<string, readonly [file: string, contentType: string]>> = Object.freeze({
  "/": ["index.html", "text/html; charset=utf-8"],
  "/app.js": ["app.js", "text/javascript; charset=utf-8"],
  "/connection.js": ["connection.js", "text/javascript; charset=utf-8"],
  "/state.js": ["state.js", "text/javascript; charset=utf-8"],
  "/model.js": ["model.js", "text/javascript; charset=utf-8"],
  "/view.js": ["view.js", "text/javascript; charset=utf-8"],
  "/style.css": ["style.css", "text/css; charset=utf-8"],
});

/** The strict Content-Security-Policy of every response: the page loads only its own files. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' blob: data:; style-src 'self'";

/** Headers on every response, the errors included. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "Cache-Control": "no-cache",
  "X-Content-Type-Options": "nosniff",
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  // The page URL may carry ?token=…: never send it to anyone in a Referer.
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
});

/** Serves the static files of `publicDir` (see the module comment). Errors other than a missing file go to `onError`. */
export function createStaticHandler(
  publicDir: string | URL,
  onError: (error: Error) => void,
): (request: IncomingMessage, response: ServerResponse) => void {
  // A directory URL must end with "/", or new URL(file, base) would replace its last segment.
  const base = typeof publicDir === "string" ? pathToFileURL(resolve(publicDir) + sep) : publicDir;
  return (request, response) => {
    void serve(base, request, response).catch((error: unknown) => {
      onError(error as Error);
      if (!response.headersSent) answer(response, 500, "internal server error\n");
      else response.destroy();
    });
  };
}

async function serve(base: URL, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method !== "GET" && request.method !== "HEAD") {
    answer(response, 405, "method not allowed\n", { Allow: "GET, HEAD" });
    return;
  }
  const path = pathOf(request.url ?? "/");
  if (path === undefined) {
    answer(response, 400, "bad request\n");
    return;
  }
  const route = Object.hasOwn(STATIC_ROUTES, path) ? STATIC_ROUTES[path] : undefined;
  if (route === undefined) {
    answer(response, 404, "not found\n");
    return;
  }
  const [file, contentType] = route;
  let body: Buffer;
  try {
    body = await readFile(new URL(file, base));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    answer(response, 404, "not found\n");
    return;
  }
  response.writeHead(200, { ...SECURITY_HEADERS, "Content-Type": contentType, "Content-Length": body.length });
  response.end(request.method === "HEAD" ? undefined : body);
}

/**
 * The path of a request-target, compared as sent (no decoding, no dot-segment removal: an
 * encoded or dotted path is simply not one of the routes). `//app.js` is a path here, not a
 * scheme-relative URL; an absolute-form target (RFC 9112 §3.2.2) gives its path.
 */
function pathOf(target: string): string | undefined {
  if (target.startsWith("/")) return target.split("?", 1)[0];
  try {
    return new URL(target).pathname;
  } catch {
    return undefined;
  }
}

function answer(response: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    ...extra,
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
  });
  response.end(response.req.method === "HEAD" ? undefined : text);
}
