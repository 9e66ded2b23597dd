// Group sessions in the page (PROTOCOL §5): when the group meets, the closed door, and the
// facilitator's session panel (open the session, live attendance, past sessions and CSV).

import { el, replace } from './dom.js';
import { api } from './api.js';
import { describeError } from './wording.js';
import { formatDate, language, t } from './i18n.js';

const MINUTE = 60000;
const TIME = { hour: 'numeric', minute: '2-digit' };

/** "in 12 minutes", "in 3 hours", "tomorrow"… in the page's language. */
function relative(ms) {
  const format = new Intl.RelativeTimeFormat(language(), { numeric: 'auto' });
  const minutes = Math.max(0, Math.round(ms / MINUTE));
  if (minutes < 90) return format.format(minutes, 'minute');
  if (minutes < 36 * 60) return format.format(Math.round(minutes / 60), 'hour');
  return format.format(Math.round(minutes / (24 * 60)), 'day');
}

/** When the group meets, for a person: null for a room with no schedule. */
export function meetingText(room, now = Date.now()) {
  if (room.session) return t('sessions.meeting_now');
  const next = room.next_session_at;
  if (!next) return null;
  // In the group's own time zone (named), so "Tuesday at 6 pm" reads as the group says it.
  const zone = room.timezone ? { timeZone: room.timezone } : {};
  const params = {
    weekday: formatDate(next, { weekday: 'long', ...zone }),
    time: formatDate(next, { ...TIME, ...zone, ...(room.timezone ? { timeZoneName: 'short' } : {}) }),
  };
  if (next - now > 7 * 24 * 60 * MINUTE) return t('sessions.meets', params);
  return t('sessions.meets_opens', { ...params, relative: relative(next - now) });
}

/** A line for the room list, or null. */
export function meetingLine(room) {
  const text = meetingText(room);
  return text ? el('p', { class: 'meeting-time', text }) : null;
}

/** The closed door of an `in_session` room (a `waiting` frame with reason `closed`);
 * `onRoom(room)` is told the room's settings once they are read. */
export function closedDoor(gate, frame, room, onRoom) {
  const when = el('p', { class: 'calm' });
  let known = room;
  const render = () => {
    when.textContent = meetingText({ ...known, session: null, next_session_at: frame.next_session_at })
      || t('sessions.closed_unscheduled');
  };
  render();
  // The room's time zone is not in the `waiting` frame: read it, then say it again.
  api('GET', `/api/rooms/${encodeURIComponent(room.slug)}`).then((data) => {
    known = data.room;
    render();
    onRoom?.(known);
  }).catch(() => {});
  const timer = setInterval(() => (when.isConnected ? render() : clearInterval(timer)), 30000);
  gate.show(
    el('h2', { text: t('sessions.closed_title') }),
    el('div', { class: 'breathing', attrs: { 'aria-hidden': 'true' } }),
    when,
    el('p', { class: 'hint', text: t('sessions.closed_auto') }),
    el('a', { href: '#/', class: 'button quiet', text: t('sessions.closed_leave') }));
}

/** The facilitator's session panel. `room` is the room page's handle. */
export class SessionPanel {
  constructor(room, slug) {
    this.room = room;
    this.slug = slug;
    this.session = null;
    this.here = new Map(); // user id -> { name, since, left }
    this.status = el('p', { class: 'hint', attrs: { role: 'status' } });
    this.openButton = el('button', { type: 'button', class: 'primary small', text: t('sessions.open_button'),
      on: { click: () => this.room.mod('open', {}) } });
    this.hereList = el('ul', { class: 'attendance-list' });
    this.past = el('div', { class: 'past-sessions' });
    const pastBox = el('details', { class: 'past', on: { toggle: (e) => e.target.open && this.loadPast() } },
      el('summary', { text: t('sessions.past_title') }), this.past);
    this.node = el('section', { class: 'panel sessions', aria: { labelledby: 'sessions-title' } },
      el('h2', { id: 'sessions-title', text: t('sessions.panel_title') }),
      this.status, this.openButton,
      el('h3', { text: t('sessions.here_title') }), this.hereList,
      el('button', { type: 'button', class: 'link', text: t('sessions.refresh'), on: { click: () => this.loadNow() } }),
      pastBox);
  }

  /** The open session changed (welcome or a `session` frame). */
  update(session, settings) {
    const changed = (session && session.id) !== (this.session && this.session.id);
    this.session = session && !session.ended_at ? session : null;
    this.openButton.hidden = Boolean(this.session);
    if (this.session) {
      this.status.textContent = t('sessions.open_since', { time: formatDate(this.session.opened_at, TIME) });
    } else {
      this.status.textContent = settings && settings.entry === 'always'
        ? t('sessions.none_open_always') : t('sessions.none_open');
      this.here.clear();
    }
    if (changed && this.session) this.loadNow();
    else this.renderHere();
  }

  /** Someone arrived or left: the live attendance follows. */
  presence(frame) {
    if (!this.session) return;
    const known = this.here.get(frame.user.id);
    if (frame.status === 'joined') {
      this.here.set(frame.user.id, { name: frame.user.display_name, since: known?.since ?? Date.now(), left: null });
    } else if (known) {
      known.left = Date.now();
    }
    this.renderHere();
  }

  async loadNow() {
    if (!this.session) return;
    try {
      const data = await api('GET', `/api/rooms/${encodeURIComponent(this.slug)}/sessions/${this.session.id}`);
      const read = new Map(data.attendance.map((a) => [a.user.id,
        { name: a.user.display_name, since: a.first_joined, left: a.last_left }]));
      // Arrivals seen while reading are kept: the answer may predate them.
      for (const [id, person] of this.here) if (!read.has(id) && !person.left) read.set(id, person);
      this.here = read;
      this.renderHere();
    } catch (error) {
      this.status.textContent = describeError(error);
    }
  }

  renderHere() {
    if (!this.here.size) {
      replace(this.hereList, el('li', { class: 'hint', text: t('sessions.nobody') }));
      return;
    }
    replace(this.hereList, [...this.here.values()].map((p) => el('li', {},
      el('span', { class: 'member-name', text: p.name }), ' ',
      el('span', { class: 'hint', text: p.left ? t('sessions.left_at', { time: formatDate(p.left, TIME) })
        : t('sessions.here_since', { time: formatDate(p.since, TIME) }) }))));
  }

  async loadPast() {
    replace(this.past, el('p', { class: 'hint', text: t('sessions.loading') }));
    try {
      const { sessions } = await api('GET', `/api/rooms/${encodeURIComponent(this.slug)}/sessions`);
      if (!sessions.length) {
        replace(this.past, el('p', { class: 'hint', text: t('sessions.no_sessions') }));
        return;
      }
      replace(this.past, el('ul', { class: 'session-list' }, sessions.map((s) => this.pastItem(s))));
    } catch (error) {
      replace(this.past, el('p', { class: 'form-error', text: describeError(error) }));
    }
  }

  pastItem(session) {
    const base = `/api/rooms/${encodeURIComponent(this.slug)}/sessions/${session.id}`;
    const length = session.ended_at
      ? t('sessions.minutes', { count: Math.round((session.ended_at - session.opened_at) / MINUTE) })
      : t('sessions.still_open');
    const label = formatDate(session.opened_at);
    // A wide table scrolls on a phone: a region keyboard users can reach and scroll.
    const table = el('div', { class: 'attendance-table', attrs: { tabindex: '0', role: 'region' },
      aria: { label: `${t('sessions.show_attendance')}: ${label}` } });
    return el('li', { class: 'session-item' },
      el('p', {}, t('sessions.row', { date: label, people: t('sessions.people', { count: session.participants }) }),
        ' · ', length),
      el('div', { class: 'button-row' },
        el('button', { type: 'button', class: 'quiet small', text: t('sessions.show_attendance'),
          aria: { label: `${t('sessions.show_attendance')}: ${label}` },
          on: { click: () => this.showAttendance(base, table) } }),
        el('a', { class: 'button quiet small', href: `${base}/attendance.csv`, attrs: { download: '' },
          text: t('sessions.download_csv'), aria: { label: `${t('sessions.download_csv')}: ${label}` } })),
      table);
  }

  async showAttendance(base, node) {
    try {
      const { attendance } = await api('GET', base);
      const time = (ms) => (ms ? formatDate(ms, TIME) : '—');
      replace(node, el('table', {},
        el('thead', {}, el('tr', {}, ['col_name', 'col_role', 'col_joined', 'col_left', 'col_minutes']
          .map((k) => el('th', { attrs: { scope: 'col' }, text: t(`sessions.${k}`) })))),
        el('tbody', {}, attendance.map((a) => el('tr', {},
          el('td', { text: a.user.display_name }), el('td', { text: a.role }),
          el('td', { text: time(a.first_joined) }), el('td', { text: time(a.last_left) }),
          el('td', { text: String(Math.round(a.seconds_present / 60)) }))))));
    } catch (error) {
      replace(node, el('p', { class: 'form-error', text: describeError(error) }));
    }
  }
}
