// The HTTP API (PROTOCOL §2). The session lives in an HttpOnly cookie set by the server;
// this client never sees or stores a token. Errors are worded by wording.js.

import { language } from './i18n.js';

export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message || '');
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** Call the API; resolves to the parsed JSON (null for 204), rejects with ApiError. */
export async function api(method, path, body) {
  // The server words its error messages in the language the page speaks.
  const headers = { Accept: 'application/json', 'Accept-Language': language() };
  const init = { method, credentials: 'same-origin', headers };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network');
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    const retry = Number(response.headers.get('Retry-After')) || undefined;
    throw new ApiError(response.status, error.code || 'unknown', error.message || '', retry);
  }
  return data;
}
