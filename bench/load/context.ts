/**
 * What a scenario of the load generator may ask of its process.
 *
 * @module
 */

/** The scenario's line to the orchestrator. */
export interface LoadContext {
  /**
   * Says that `open` connections are established and idle, and waits until the orchestrator has
   * seen the server count exactly that many (and, for `baseline`/`loaded`, measured its memory).
   */
  hold(phase: "connected" | "baseline" | "loaded", open: number): Promise<void>;
}
