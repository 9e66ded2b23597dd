// The facilitator panel: who is knocking, flags, room controls, and per-member actions.
// Everything goes out as {"type":"mod","action",...} (PROTOCOL §3).

import { el, replace } from './dom.js';
import { confirmButton } from './messages.js';

export class ModerationPanel {
  constructor(room) {
    this.room = room;
    this.knocks = new Map(); // user id -> user
    this.flags = [];
    this.knockList = el('ul', { class: 'knock-list' });
    this.knockCount = el('span', { class: 'count-badge', text: '0' });
    this.flagList = el('ul', { class: 'flag-list' });
    this.flagCount = el('span', { class: 'count-badge', text: '0' });
    this.status = el('p', { class: 'mod-status hint', attrs: { role: 'status', 'aria-live': 'polite' } });
    this.lockButton = el('button', { type: 'button', class: 'quiet', on: { click: () => this.toggleLock() } });
    this.slowInput = el('input', { type: 'number', min: 0, max: 3600, step: 1, value: '0', id: 'slow-seconds' });
    this.pinInput = el('input', { type: 'text', maxLength: 2000, id: 'pin-text', placeholder: 'A note for everyone' });
    this.node = el('section', { class: 'panel moderation', aria: { labelledby: 'mod-title' } },
      el('h2', { id: 'mod-title', text: 'Facilitator tools' }),
      this.status,
      el('h3', {}, 'Waiting to join ', this.knockCount), this.knockList,
      el('h3', {}, 'Flags ', this.flagCount), this.flagList,
      el('h3', { text: 'Room' }), this.roomControls());
    this.renderKnocks();
    this.renderFlags();
  }

  roomControls() {
    const slowForm = el('form', { class: 'inline-form', on: { submit: (e) => {
      e.preventDefault();
      this.room.mod('slow_mode', { seconds: Number(this.slowInput.value) || 0 });
    } } },
    el('label', { htmlFor: 'slow-seconds', text: 'Slow mode, seconds' }), this.slowInput,
    el('button', { type: 'submit', class: 'quiet', text: 'Set' }));
    const pinForm = el('form', { class: 'inline-form', on: { submit: (e) => {
      e.preventDefault();
      if (!this.pinInput.value.trim()) return;
      this.room.mod('pin', { body: this.pinInput.value });
      this.pinInput.value = '';
    } } },
    el('label', { htmlFor: 'pin-text', text: 'Pin a note' }), this.pinInput,
    el('button', { type: 'submit', class: 'quiet', text: 'Pin note' }));
    const end = confirmButton('End session…', 'Yes, end the session for everyone',
      () => this.room.mod('end', {}), 'quiet end-session');
    return el('div', { class: 'room-controls' }, this.lockButton, slowForm, pinForm, end);
  }

  /** Reflect room settings (locked, slow mode) in the controls. */
  update(settings) {
    this.lockButton.textContent = settings.locked ? 'Unlock room' : 'Lock room';
    this.lockButton.setAttribute('aria-pressed', String(Boolean(settings.locked)));
    if (document.activeElement !== this.slowInput) this.slowInput.value = String(settings.slow_mode_seconds || 0);
  }

  toggleLock() {
    this.room.mod(this.room.settings().locked ? 'unlock' : 'lock', {});
  }

  say(text) {
    this.status.textContent = text;
  }

  clearKnocks() {
    this.knocks.clear();
    this.renderKnocks();
  }

  knock(user) {
    this.knocks.set(user.id, user);
    this.renderKnocks();
    this.say(`${user.display_name} is waiting to join.`);
  }

  answered(userId) {
    if (this.knocks.delete(userId)) this.renderKnocks();
  }

  renderKnocks() {
    this.knockCount.textContent = String(this.knocks.size);
    if (!this.knocks.size) {
      replace(this.knockList, el('li', { class: 'hint', text: 'No one is waiting.' }));
      return;
    }
    replace(this.knockList, [...this.knocks.values()].map((user) => el('li', { class: 'knock', dataset: { userId: user.id } },
      el('span', { class: 'member-name', text: user.display_name }),
      el('span', { class: 'hint', text: ` @${user.username}` }),
      el('div', { class: 'button-row' },
        el('button', { type: 'button', class: 'primary small', text: 'Admit',
          on: { click: () => this.room.mod('admit', { user_id: user.id }, () => this.answered(user.id)) } }),
        el('button', { type: 'button', class: 'quiet small', text: 'Deny',
          on: { click: () => this.room.mod('deny', { user_id: user.id }, () => this.answered(user.id)) } })))));
  }

  flag(frame) {
    this.flags.unshift(frame);
    this.renderFlags();
    this.say('A new flag needs a look.');
  }

  /** A message was deleted: its flags have nothing left to act on. */
  messageGone(messageId) {
    const before = this.flags.length;
    this.flags = this.flags.filter((f) => f.message_id !== messageId);
    if (this.flags.length !== before) this.renderFlags();
  }

  renderFlags() {
    this.flagCount.textContent = String(this.flags.length);
    if (!this.flags.length) {
      replace(this.flagList, el('li', { class: 'hint', text: 'Nothing flagged.' }));
      return;
    }
    replace(this.flagList, this.flags.map((flag) => {
      const author = this.room.nameOf(flag.user_id) || 'someone who left';
      const reporter = flag.reported_by ? (this.room.nameOf(flag.reported_by) || 'a member') : null;
      const origin = flag.source === 'report' ? `Reported by ${reporter}` : `Automatic check${flag.hook ? ` (${flag.hook})` : ''}`;
      return el('li', { class: 'flag' },
        el('p', { class: 'hint', text: `${origin} · message by ${author}` }),
        el('p', { class: 'flag-reason', text: flag.reason || '' }),
        flag.excerpt !== null && flag.excerpt !== undefined
          ? el('blockquote', { class: 'excerpt', text: flag.excerpt })
          : el('p', { class: 'hint', text: '(the message is gone)' }),
        el('div', { class: 'button-row' },
          flag.user_id && this.room.checkInFor ? this.room.checkInFor(flag.user_id) : null,
          flag.message_id
            ? confirmButton('Delete message', 'Confirm delete', () => this.room.mod('delete', { message_id: flag.message_id }), 'quiet small')
            : null,
          el('button', { type: 'button', class: 'link', text: 'Dismiss', on: { click: () => {
            this.flags = this.flags.filter((f) => f !== flag);
            this.renderFlags();
          } } })));
    }));
  }

  /** Controls for one participant, shown in the member list. */
  memberActions(person) {
    const me = this.room;
    // Admins cannot be moderated; only admins may moderate facilitators.
    if (person.role === 'admin') return null;
    if (person.role === 'facilitator' && me.role() !== 'admin') return null;
    const minutes = el('input', { type: 'number', min: 1, step: 1, placeholder: 'minutes' });
    minutes.setAttribute('aria-label', `Mute ${person.display_name} for how many minutes (empty: until unmuted)`);
    const reason = el('input', { type: 'text', maxLength: 500, placeholder: 'reason (shared with them)' });
    reason.setAttribute('aria-label', `Reason for removing ${person.display_name}`);
    const act = (action, fields = {}) => me.mod(action, { user_id: person.id, ...fields });
    const reasonField = () => (reason.value.trim() ? { reason: reason.value.trim() } : {});
    return el('details', { class: 'member-actions' },
      el('summary', { text: 'Actions', aria: { label: `Actions for ${person.display_name}` } }),
      el('div', { class: 'button-row' },
        minutes,
        el('button', { type: 'button', class: 'quiet small', text: 'Mute', on: { click: () => {
          const m = Number(minutes.value);
          act('mute', m > 0 ? { seconds: Math.round(m * 60) } : {});
        } } }),
        el('button', { type: 'button', class: 'quiet small', text: 'Unmute', on: { click: () => act('unmute') } }),
        el('button', { type: 'button', class: 'quiet small', text: 'Lower hand', on: { click: () => act('lower_hand') } })),
      el('div', { class: 'button-row' },
        reason,
        confirmButton('Remove', 'Confirm remove', () => act('remove', reasonField()), 'quiet small'),
        confirmButton('Ban', 'Confirm ban', () => act('ban', reasonField()), 'quiet small')));
  }
}

/** A sentence about a moderation action, for the facilitator's status line. */
export function describeModeration(frame, nameOf) {
  const who = frame.by ? frame.by.display_name : 'A facilitator';
  const target = frame.user_id ? (nameOf(frame.user_id) || 'a member') : '';
  switch (frame.action) {
    case 'mute': return `${who} muted ${target}${frame.seconds ? ` for ${Math.round(frame.seconds / 60) || 1} min` : ''}.`;
    case 'unmute': return `${who} unmuted ${target}.`;
    case 'remove': return `${who} removed ${target}${frame.reason ? ` (${frame.reason})` : ''}.`;
    case 'ban': return `${who} banned ${target}${frame.reason ? ` (${frame.reason})` : ''}.`;
    case 'unban': return `${who} lifted the ban on ${target}.`;
    case 'admit': return `${who} let ${target} in.`;
    case 'deny': return `${who} declined ${target}.`;
    case 'lower_hand': return `${who} lowered ${target}'s hand.`;
    default: return '';
  }
}
