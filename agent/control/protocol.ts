// The control channel's wire format: one JSON object per line each way.
//   request:  {"request": "status", "args": {...}}            (args optional)
//   response: {"ok": true, "result": ...} | {"ok": false, "error": {"code": "...", "message": "..."}}
// One request per connection: the server reads one line, stops reading, answers and closes.
// Bounds, per connection: the request is capped at maxRequestBytes and must be complete within
// requestDeadlineMs of the connection (an absolute deadline, not an idle timer: a byte a second
// does not keep it open); each request's handler has its own deadline (handlerDeadlineMs unless
// it registered another); an answer above maxResponseBytes is replaced by an error; a client
// that does not read its answer within writeDeadlineMs is cut off. Per user: at most
// connectionsPerUser connections at once (from the kernel's peer credentials); one more is
// answered "busy" and closed.

export const maxRequestBytes = 64 * 1024;
export const requestDeadlineMs = 2000;
export const handlerDeadlineMs = 15_000;
export const maxResponseBytes = 1024 * 1024;
export const writeDeadlineMs = 5000;
export const connectionsPerUser = 8;

export interface ControlRequest {
  request: string;
  args?: Record<string, unknown>;
}

export type ErrorCode =
  | 'bad_request'
  | 'too_large'
  | 'unknown_request'
  | 'forbidden'
  | 'failed'
  | 'shutting_down'
  | 'busy'
  | 'timeout'
  | 'response_too_large';

export type ControlResponse =
  { ok: true; result: unknown } | { ok: false; error: { code: ErrorCode; message: string } };

export function errorResponse(code: ErrorCode, message: string): ControlResponse {
  return { ok: false, error: { code, message } };
}

/** Parses one request line; returns the request or the error response to send. */
export function parseRequest(line: string): ControlRequest | ControlResponse {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return errorResponse('bad_request', 'request is not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return errorResponse('bad_request', 'request must be a JSON object');
  }
  const { request, args } = value as Record<string, unknown>;
  if (typeof request !== 'string' || !/^[a-z][a-z0-9_.-]{0,63}$/.test(request)) {
    return errorResponse('bad_request', 'request must have a "request" name such as "status"');
  }
  if (args !== undefined && (args === null || typeof args !== 'object' || Array.isArray(args))) {
    return errorResponse('bad_request', '"args" must be a JSON object');
  }
  return { request, args: (args as Record<string, unknown> | undefined) ?? {} };
}

export function isResponse(value: ControlRequest | ControlResponse): value is ControlResponse {
  return 'ok' in value;
}
