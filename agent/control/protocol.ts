// The control channel's wire format: one JSON object per line each way.
//   request:  {"request": "status", "args": {...}}            (args optional)
//   response: {"ok": true, "result": ...} | {"ok": false, "error": {"code": "...", "message": "..."}}
// Requests are capped at maxRequestBytes; a connection that sends nothing complete within
// the read timeout is closed.

export const maxRequestBytes = 64 * 1024;
export const readTimeoutMs = 5000;

export interface ControlRequest {
  request: string;
  args?: Record<string, unknown>;
}

export type ErrorCode = 'bad_request' | 'too_large' | 'unknown_request' | 'forbidden' | 'failed' | 'shutting_down';

export type ControlResponse = { ok: true; result: unknown } | { ok: false; error: { code: ErrorCode; message: string } };

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
