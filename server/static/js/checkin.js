// Private check-ins (PROTOCOL §6): a member's calm request to talk privately, the
// facilitators' list of requests, and the private check-in room beside the group.

import { el, randomId, replace } from './dom.js';
import { RoomConnection } from './connection.js';
import { formatDate, t } from './i18n.js';

const TIME = { hour: 'numeric', minute: '2-digit' };
const NOTE_MAX = 500;

/** A member's "Talk to a facilitator privately" control. `send(frame)` sends on the room. */
export class AskFacilitator {
  constructor(send) {
    this.send = send;
    this.note = el('textarea', { id: 'checkin-note', rows: 3, maxLength: NOTE_MAX });
    this.status = el('p', { class: 'hint', attrs: { role: 'status' } });
    this.form = el('form', { class: 'ask-form', hidden: true, on: { submit: (e) => this.submit(e) } },
      el('p', { class: 'hint', text: t('checkin.ask_intro') }),
      el('label', { htmlFor: 'checkin-note', text: t('checkin.note_label') }), this.note,
      el('div', { class: 'button-row' },
        el('button', { type: 'submit', class: 'primary small', text: t('checkin.send') }),
        el('button', { type: 'button', class: 'quiet small', text: t('checkin.cancel'),
          on: { click: () => this.toggle(false) } })));
    this.button = el('button', { type: 'button', class: 'quiet ask-button', text: t('checkin.ask_button'),
      aria: { expanded: 'false', controls: 'checkin-ask-form' }, on: { click: () => this.toggle(this.form.hidden) } });
    this.form.id = 'checkin-ask-form';
    this.node = el('section', { class: 'panel ask', aria: { label: t('checkin.ask_button') } },
      this.button, this.form, this.status);
  }

  toggle(open) {
    this.form.hidden = !open;
    this.button.setAttribute('aria-expanded', String(open));
    if (open) this.note.focus();
  }

  submit(event) {
    event.preventDefault();
    const note = this.note.value.trim();
    this.send({ type: 'ask_facilitator', ...(note ? { note } : {}), ref: randomId() });
  }

  /** The server confirmed the request. */
  asked() {
    this.note.value = '';
    this.toggle(false);
    this.status.textContent = t('checkin.asked');
    this.button.focus();
  }
}

/** The facilitators' list of open requests. `room` is the room page's handle. */
export class RequestList {
  constructor(room) {
    this.room = room;
    this.requests = new Map(); // request id -> frame
    this.list = el('ul', { class: 'request-list' });
    this.node = el('section', { class: 'panel requests', aria: { labelledby: 'requests-title' } },
      el('h2', { id: 'requests-title', text: t('checkin.requests_title') }), this.list);
    this.render();
  }

  add(frame) {
    const fresh = !this.requests.has(frame.request_id);
    this.requests.set(frame.request_id, frame);
    this.render();
    return fresh ? t('checkin.new_request', { name: frame.user.display_name }) : null;
  }

  /** A request closed (dismissed, or a check-in opened for that member). */
  closeFor(userId) {
    for (const [id, request] of this.requests) if (request.user.id === userId) this.requests.delete(id);
    this.render();
  }

  close(requestId) {
    this.requests.delete(requestId);
    this.render();
  }

  render() {
    if (!this.requests.size) {
      replace(this.list, el('li', { class: 'hint', text: t('checkin.no_requests') }));
      return;
    }
    replace(this.list, [...this.requests.values()].map((r) => el('li', { class: 'request' },
      el('p', {}, el('span', { class: 'member-name', text: r.user.display_name }), ' ',
        el('span', { class: 'hint', text: t('checkin.requested_at', { time: formatDate(r.ts, TIME) }) })),
      r.note ? el('blockquote', { class: 'excerpt', text: r.note }) : null,
      el('div', { class: 'button-row' },
        checkInButton(this.room, r.user),
        el('button', { type: 'button', class: 'link', text: t('checkin.dismiss'),
          on: { click: () => this.room.mod('dismiss_request', { request_id: r.request_id }) } })))));
  }
}

/** "Check in privately" with one member (member list, requests, crisis flags). */
export function checkInButton(room, user) {
  return el('button', { type: 'button', class: 'primary small', text: t('checkin.open_button'),
    aria: { label: t('checkin.open_with', { name: user.display_name || t('checkin.someone') }) },
    on: { click: () => room.mod('check_in', { user_id: user.id }) } });
}

/** The private check-in room, side by side with the group (one tap away on a phone). */
export class CheckInPane {
  constructor(roomObject, facilitating, onEnded) {
    this.slug = roomObject.slug;
    this.onEnded = onEnded;
    this.messages = el('ol', { class: 'checkin-messages', attrs: { 'aria-live': 'polite' } });
    this.input = el('textarea', { id: `checkin-${this.slug}-input`, rows: 2, maxLength: 2000 });
    this.status = el('p', { class: 'hint', attrs: { role: 'status' }, text: t('checkin.connecting') });
    const form = el('form', { class: 'checkin-composer', on: { submit: (e) => this.post(e) } },
      el('label', { class: 'visually-hidden', htmlFor: this.input.id, text: t('checkin.message_label') }),
      this.input, el('button', { type: 'submit', class: 'primary small', text: t('checkin.send_message') }));
    this.endButton = facilitating
      ? el('button', { type: 'button', class: 'quiet small', text: t('checkin.end'),
        on: { click: () => this.conn.send({ type: 'mod', action: 'end' }) } })
      : null;
    this.node = el('section', { class: 'checkin-pane', aria: { labelledby: `checkin-${this.slug}-title` } },
      el('h2', { id: `checkin-${this.slug}-title`, text: t('checkin.pane_title') }),
      el('p', { class: 'private-notice', text: t('checkin.private_notice') }),
      this.status, this.messages, form, this.endButton);
    this.conn = new RoomConnection(this.slug, {
      onStatus: () => {},
      onRestart: () => {},
      onFinalClose: () => this.ended(),
      onFrame: (frame) => this.frame(frame),
    });
    this.conn.open();
  }

  frame(frame) {
    if (frame.type === 'welcome') {
      this.status.textContent = '';
      for (const m of frame.history || []) this.add(m);
    } else if (frame.type === 'message') {
      this.add(frame);
    }
  }

  add(message) {
    this.messages.append(el('li', { class: 'checkin-message' },
      el('span', { class: 'member-name', text: message.author.display_name }), ' ',
      el('span', { class: 'body', text: message.body })));
  }

  post(event) {
    event.preventDefault();
    if (!this.input.value.trim()) return;
    this.conn.post(this.input.value);
    this.input.value = '';
  }

  ended() {
    this.status.textContent = t('checkin.ended');
    this.endButton?.remove();
    this.node.querySelector('form')?.remove();
    this.onEnded?.(this.slug);
  }

  destroy() {
    this.conn.close();
  }
}
