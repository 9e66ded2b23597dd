// Automatic sign-out, announced ahead (PROTOCOL §8; WCAG 2.2.1 Timing Adjustable).
// The server ends a session after a while without activity, and at the latest some hours
// after sign-in. This module learns when from GET /api/auth/session (asking is not
// activity), warns in a modal dialog a little before, with "Stay signed in" (any request
// is activity; GET /api/me is one), and signs out cleanly when the time comes. Times are
// compared on the server's clock: `now` in each answer gives the offset to this one's.

import { el } from './dom.js';
import { api } from './api.js';
import { t, formatDate } from './i18n.js';

const LEAD_MS = 120_000; // warn two minutes ahead (at most half the idle time)

/**
 * Watch the signed-in session. `onEnded(reason)` runs once when it is over ('expired'
 * or 'signed_out'); `signOut()` is the page's own sign-out. Returns `{ stop, ended }`:
 * `ended()` tells whether the session's time is up (so a 4401 close means that).
 */
export function watchSession({ onEnded, signOut }) {
  let timer = null;
  let ticker = null;
  let stopped = false;
  let deadline = 0; // local clock
  let absolute = 0; // local clock
  let lead = LEAD_MS;
  const dialog = buildDialog();

  function learn(session) {
    const offset = session.now - Date.now();
    deadline = session.expires_at - offset;
    absolute = session.absolute_expires_at - offset;
    lead = Math.min(LEAD_MS, (session.idle_seconds * 1000) / 2);
  }

  function schedule(at, fn) {
    clearTimeout(timer);
    timer = setTimeout(fn, Math.max(0, at - Date.now()));
  }

  async function check() {
    if (stopped) return;
    let session;
    try {
      ({ session } = await api('GET', '/api/auth/session'));
    } catch (error) {
      if (error.status === 401) return end();
      schedule(Date.now() + 15_000, check); // unreachable for now: ask again soon
      return;
    }
    learn(session);
    if (deadline - Date.now() <= 0) return end();
    if (deadline - Date.now() > lead + 1000) {
      hide();
      schedule(deadline - lead, check);
      return;
    }
    show();
    schedule(deadline, check);
  }

  async function stay() {
    dialog.stay.disabled = true;
    try {
      const { session } = await api('GET', '/api/me');
      learn(session);
    } catch (error) {
      if (error.status === 401) return end();
    } finally {
      dialog.stay.disabled = false;
    }
    if (deadline - Date.now() > lead + 1000) {
      hide();
      schedule(deadline - lead, check);
    } else {
      // The absolute end is near: staying cannot move it.
      dialog.text.textContent = t('session_timer.final', { time: formatDate(absolute, { timeStyle: 'short' }) });
      dialog.stay.hidden = true;
      schedule(deadline, check);
    }
  }

  function show() {
    if (!dialog.node.open) {
      dialog.stay.hidden = false;
      document.body.append(dialog.node);
      dialog.node.showModal();
      dialog.stay.focus();
    }
    const finalStretch = absolute - deadline < 1000;
    dialog.text.textContent = finalStretch
      ? t('session_timer.final', { time: formatDate(absolute, { timeStyle: 'short' }) })
      : t('session_timer.warning');
    dialog.stay.hidden = finalStretch;
    tick();
    clearInterval(ticker);
    ticker = setInterval(tick, 1000);
  }

  function tick() {
    const seconds = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    const minutes = Math.floor(seconds / 60);
    dialog.countdown.textContent = t('session_timer.countdown', {
      time: `${minutes}:${String(seconds % 60).padStart(2, '0')}`,
    });
  }

  function hide() {
    clearInterval(ticker);
    ticker = null;
    if (dialog.node.open) dialog.node.close();
    dialog.node.remove();
  }

  function end() {
    if (stopped) return;
    stop();
    onEnded('expired');
  }

  function stop() {
    stopped = true;
    clearTimeout(timer);
    hide();
  }

  dialog.stay.addEventListener('click', stay);
  dialog.leave.addEventListener('click', () => {
    stop();
    signOut();
  });
  // Escape would close the dialog without a choice: keep it, so the warning stays seen.
  dialog.node.addEventListener('cancel', (event) => event.preventDefault());
  check();
  return { stop, ended: () => deadline > 0 && Date.now() >= deadline - 2000 };
}

function buildDialog() {
  const text = el('p', { id: 'session-timer-text' });
  const countdown = el('p', { class: 'session-countdown', attrs: { 'aria-live': 'off' } });
  const stay = el('button', { type: 'button', class: 'primary', text: t('session_timer.stay') });
  const leave = el('button', { type: 'button', class: 'quiet', text: t('session_timer.sign_out') });
  const node = el('dialog', {
    class: 'session-timer card',
    attrs: { role: 'alertdialog' },
    aria: { labelledby: 'session-timer-title', describedby: 'session-timer-text' },
  },
  el('h2', { id: 'session-timer-title', text: t('session_timer.title') }),
  text, countdown,
  el('div', { class: 'button-row' }, stay, leave));
  return { node, text, countdown, stay, leave };
}
