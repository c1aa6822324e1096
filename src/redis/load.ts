/**
 * Loads `@redis/client` on demand: `import "wynd/redis"` loads no package, only
 * `createRedisAdapter()` does, so an application that never asks for Redis never needs it.
 *
 * @module
 */

import { WyndError } from "../index.js";

/** The package the Redis adapter is built on (an optional peer dependency of wynd). */
export const REDIS_CLIENT_PACKAGE = "@redis/client";

/** The module `@redis/client` exports (its types only: nothing is loaded by this line). */
export type RedisClientModule = typeof import("@redis/client");

/**
 * Imports `name` (default `@redis/client`). When it is not installed, rejects with a `WyndError`
 * `ERR_REDIS_CLIENT_MISSING` that says what to install; any other failure (the package is there
 * but broken) is wrapped with its cause.
 */
export async function loadRedisClient(name: string = REDIS_CLIENT_PACKAGE): Promise<RedisClientModule> {
  try {
    return (await import(name)) as RedisClientModule;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new WyndError(
        "ERR_REDIS_CLIENT_MISSING",
        `the Redis adapter needs the package ${name}, which is not installed: run \`npm install ${name}\``,
        { cause: error },
      );
    }
    throw new WyndError("ERR_REDIS_CLIENT_LOAD", `could not load ${name}: ${(error as Error).message}`, { cause: error });
  }
}
