// The HTTP API (PROTOCOL §2). The session lives in an HttpOnly cookie set by the server;
// this client never sees or stores a token.

export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** Call the API; resolves to the parsed JSON (null for 204), rejects with ApiError. */
export async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network', 'The server could not be reached. Check your connection.');
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
    throw new ApiError(response.status, error.code || 'unknown', error.message || response.statusText, retry);
  }
  return data;
}

/** A sentence for a person, from an ApiError. */
export function describeError(error) {
  switch (error.code) {
    case 'bad_credentials': return 'That username and password do not match.';
    case 'conflict': return 'That name is already taken.';
    case 'weak_password': return 'Please choose a less common password (and not your username).';
    case 'rate_limited': {
      const wait = error.retryAfter ? ` Try again in ${humanSeconds(error.retryAfter)}.` : ' Try again later.';
      return `Too many attempts.${wait}`;
    }
    case 'forbidden': return error.message || 'That is not allowed.';
    case 'unauthorized': return 'Please sign in again.';
    default: return error.message || 'Something went wrong. Please try again.';
  }
}

/** "45 seconds", "3 minutes". */
export function humanSeconds(seconds) {
  const s = Math.ceil(seconds);
  if (s < 90) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.ceil(s / 60);
  return `${m} minute${m === 1 ? '' : 's'}`;
}
