import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

/** The API's own types, generated from the server's OpenAPI document (openapi.json). */
export type Schemas = components["schemas"];
export type VmSummary = Schemas["VmSummary"];
export type VmDetails = Schemas["VmDetails"];
export type OperationInfo = Schemas["OperationInfo"];

/**
 * A refusal from the server: `detail` is the server's own sentence (problem details), shown
 * as it is next to the field or action that caused it.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** The session's CSRF token: every request that changes something carries it. */
let csrfToken: string | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export const csrfHeader = "CSRFPreventionToken";

/** The token, for requests made outside openapi-fetch (an upload with XMLHttpRequest's progress). */
export function currentCsrfToken(): string | null {
  return csrfToken;
}

const sessionMiddleware: Middleware = {
  onRequest({ request }) {
    if (request.method !== "GET" && csrfToken) {
      request.headers.set(csrfHeader, csrfToken);
    }
    return request;
  },
};

/** The typed client: paths, parameters and bodies are checked against openapi.json at build. */
export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });
api.use(sessionMiddleware);

/** The sentence of a problem-details body, or a plain description of an unexpected answer. */
export function sentenceOf(status: number, body: unknown): string {
  if (body && typeof body === "object") {
    const problem = body as { detail?: unknown; title?: unknown };
    if (typeof problem.detail === "string" && problem.detail.length > 0) return problem.detail;
    if (typeof problem.title === "string" && problem.title.length > 0) return problem.title;
  }
  if (typeof body === "string" && body.length > 0 && body.length < 300) return body;
  return `The server answered ${status} without an explanation.`;
}

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** Waits for an openapi-fetch answer: its data, or an ApiError with the server's sentence. */
export async function call<T>(request: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await request;
  } catch (e) {
    throw new ApiError(0, `The server cannot be reached (${e instanceof Error ? e.message : String(e)}).`);
  }
  if (!answer.response.ok) {
    if (answer.response.status === 401) onUnauthorized?.();
    throw new ApiError(answer.response.status, sentenceOf(answer.response.status, answer.error));
  }
  return answer.data as T;
}

let onUnauthorized: (() => void) | undefined;

/** What the application does when the session has ended (shows the login page again). */
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

/** A WebSocket URL on this server (same origin, so the session cookie goes with it). */
export function webSocketUrl(path: string): string {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}`;
}
