// The one place that words what went wrong and how a connection stands: HTTP errors and
// §3 error frames share one table of codes, so a code reads the same wherever it came from.

import { t } from './i18n.js';

const WORDED = new Set([
  'bad_credentials', 'conflict', 'weak_password', 'rate_limited', 'forbidden', 'unauthorized',
  'slow_mode', 'muted', 'locked', 'too_long', 'not_found', 'network', 'unavailable', 'too_large',
]);

/** A room's title as a person reads it: a private check-in is named in their language (the
 * server names every check-in room "Check-in", PROTOCOL §6). */
export function roomTitle(room) {
  if (room.kind === 'check_in') return t('checkin.room_title');
  return room.title || room.slug;
}

/** "45 seconds", "3 minutes". */
export function duration(seconds) {
  const s = Math.ceil(seconds);
  if (s < 90) return t('time.seconds', { count: s });
  return t('time.minutes', { count: Math.ceil(s / 60) });
}

/**
 * A sentence for a person about an error: an ApiError ({code, message, retryAfter}) or an
 * error frame ({code, message, retry_after, reason}).
 */
export function describeError(error) {
  const retryAfter = error.retryAfter ?? error.retry_after;
  let text;
  if (error.code === 'rejected') {
    text = error.reason ? t('error.rejected_reason', { reason: error.reason }) : t('error.rejected');
  } else if (error.code === 'invalid') {
    text = error.message ? t('error.invalid_detail', { detail: error.message }) : t('error.invalid');
  } else if (WORDED.has(error.code)) {
    text = t(`error.${error.code}`);
  } else {
    text = error.message || t('error.unknown');
  }
  if (retryAfter && (error.code === 'rate_limited' || error.code === 'slow_mode')) {
    text = `${text} ${t('error.retry_in', { time: duration(retryAfter) })}`;
  }
  return text;
}

/** Title, detail and whether rejoining makes sense, for a final close code. */
export function describeClose(code, reason) {
  switch (code) {
    case 4403: return [t('close.forbidden.title'), reason ? t('close.forbidden.reason', { reason }) : t('close.forbidden.detail'), false];
    case 4404: return [t('close.not_found.title'), t('close.not_found.detail'), false];
    case 4408: return [t('close.removed.title'), reason ? t('close.removed.reason', { reason }) : null, true];
    case 4410: return [t('close.ended.title'), t('close.ended.detail'), true];
    case 4429: return [t('close.disconnected.title'), t('close.rate_limited.detail'), true];
    default: return [t('close.disconnected.title'), reason || null, true];
  }
}
