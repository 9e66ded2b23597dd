// The facilitator panel: who is knocking, what needs review, raised hands, room controls,
// bans, and each member's actions. Everything goes out as {"type":"mod","action",...}
// (PROTOCOL §3 and the README's protocol additions).

import { el, uid } from './dom.js';
import { t } from './i18n.js';
import { confirmButton } from './menu.js';
import { KnockList } from './knocks.js';
import { HandQueue } from './hand_queue.js';
import { BanList } from './bans.js';
import { ReviewQueue } from './review.js';

export class ModerationPanel {
  /** `room` gives mod(), settings(), role(), nameOf(), slug(), showMemberActions(). */
  constructor(room) {
    this.room = room;
    this.status = el('p', { class: 'mod-status hint', attrs: { role: 'status' } });
    this.knocks = new KnockList(room, (text) => this.say(text));
    this.review = new ReviewQueue(room);
    this.hands = new HandQueue(room);
    this.bans = new BanList(room);
    this.lockButton = el('button', { type: 'button', class: 'quiet', on: { click: () => this.toggleLock() } });
    this.slowInput = el('input', { type: 'number', min: 0, max: 3600, step: 1, value: '0', id: 'slow-seconds' });
    this.pinInput = el('input', { type: 'text', maxLength: 2000, id: 'pin-text', placeholder: t('mod.pin.placeholder') });
    this.node = el('section', { class: 'panel moderation', aria: { labelledby: 'mod-title' } },
      el('h2', { id: 'mod-title', text: t('mod.title') }),
      this.status,
      this.knocks.node,
      this.review.heldNode,
      this.review.flagsNode,
      this.hands.node,
      el('h3', { text: t('mod.room.title') }), this.roomControls(),
      this.bans.node);
  }

  roomControls() {
    const slowForm = el('form', { class: 'inline-form', on: { submit: (e) => {
      e.preventDefault();
      this.room.mod('slow_mode', { seconds: Number(this.slowInput.value) || 0 });
    } } },
    el('label', { htmlFor: 'slow-seconds', text: t('mod.slow.label') }), this.slowInput,
    el('button', { type: 'submit', class: 'quiet', text: t('mod.slow.set') }));
    const pinForm = el('form', { class: 'inline-form', on: { submit: (e) => {
      e.preventDefault();
      if (!this.pinInput.value.trim()) return;
      this.room.mod('pin', { body: this.pinInput.value });
      this.pinInput.value = '';
    } } },
    el('label', { htmlFor: 'pin-text', text: t('mod.pin.label') }), this.pinInput,
    el('button', { type: 'submit', class: 'quiet', text: t('mod.pin.submit') }));
    const end = confirmButton(t('mod.end'), t('mod.end.confirm'),
      () => this.room.mod('end', {}), 'quiet end-session');
    return el('div', { class: 'room-controls' }, this.lockButton, slowForm, pinForm, end);
  }

  /** Reflect room settings (locked, slow mode) in the controls. */
  update(settings) {
    this.lockButton.textContent = settings.locked ? t('mod.unlock') : t('mod.lock');
    if (document.activeElement !== this.slowInput) this.slowInput.value = String(settings.slow_mode_seconds || 0);
  }

  toggleLock() {
    this.room.mod(this.room.settings().locked ? 'unlock' : 'lock', {});
  }

  say(text) {
    this.status.textContent = text;
  }

  /** A name for someone not present: knocking or banned. */
  nameOf(userId) {
    return this.knocks.name(userId) ?? this.bans.name(userId);
  }

  /** Controls for one participant, shown in the member list. */
  memberActions(person) {
    if (!this.room.canModerate(person.id, person.role)) return null;
    const name = person.display_name;
    const act = (action, fields = {}) => this.room.mod(action, { user_id: person.id, ...fields });
    const minutes = el('input', { type: 'number', min: 1, step: 1, id: uid('mute-min') });
    const reason = el('input', { type: 'text', maxLength: 500, id: uid('reason') });
    const coolDown = el('input', { type: 'number', min: 1, max: 10080, step: 1, id: uid('cool') });
    const reasonField = () => (reason.value.trim() ? { reason: reason.value.trim() } : {});
    const coolField = () => (Number(coolDown.value) > 0 ? { seconds: Math.round(Number(coolDown.value) * 60) } : {});
    return el('details', { class: 'member-actions' },
      el('summary', { text: t('mod.member.actions.label', { name }) }),
      el('div', { class: 'action-group' },
        el('label', { htmlFor: minutes.id, text: t('mod.member.minutes.label', { name }) }),
        el('div', { class: 'button-row' },
          minutes,
          el('button', { type: 'button', class: 'quiet small', text: t('mod.member.mute', { name }), on: { click: () => {
            const m = Number(minutes.value);
            act('mute', m > 0 ? { seconds: Math.round(m * 60) } : {});
          } } }),
          el('button', { type: 'button', class: 'quiet small', text: t('mod.member.unmute', { name }), on: { click: () => act('unmute') } }))),
      el('div', { class: 'button-row' },
        el('button', { type: 'button', class: 'quiet small', text: t('mod.member.lower_hand', { name }), on: { click: () => act('lower_hand') } })),
      el('div', { class: 'action-group' },
        el('label', { htmlFor: reason.id, text: t('mod.member.reason.label', { name }) }), reason,
        el('label', { htmlFor: coolDown.id, text: t('mod.member.cool_down.label') }), coolDown,
        el('div', { class: 'button-row' },
          confirmButton(t('mod.member.remove', { name }), t('mod.member.remove.confirm', { name }),
            () => act('remove', { ...reasonField(), ...coolField() }), 'quiet small'),
          confirmButton(t('mod.member.ban', { name }), t('mod.member.ban.confirm', { name }),
            () => act('ban', reasonField()), 'quiet small'))),
      el('div', { class: 'button-row' },
        confirmButton(t('mod.member.delete_all', { name }), t('mod.member.delete_all.confirm', { name }),
          () => act('delete_all'), 'quiet small')));
  }
}

/** A sentence about a moderation action, for the facilitator's status line. */
export function describeModeration(frame, nameOf) {
  const known = ['mute', 'unmute', 'remove', 'ban', 'unban', 'admit', 'deny', 'lower_hand',
    'delete_all', 'resolve_flag', 'approve', 'discard'];
  if (!known.includes(frame.action)) return '';
  const params = {
    who: frame.by ? frame.by.display_name : t('mod.said.a_facilitator'),
    target: nameOf(frame.user_id || frame.author_id) || t('mod.flag.a_member'),
    reason: frame.reason || '',
    minutes: Math.round((frame.seconds || 0) / 60) || 1,
  };
  let key = `mod.said.${frame.action}`;
  if (frame.action === 'mute' && frame.seconds) key = 'mod.said.mute_for';
  if (frame.action === 'remove' && frame.seconds) key = 'mod.said.remove_for';
  else if ((frame.action === 'remove' || frame.action === 'ban') && frame.reason) key = `${key}_reason`;
  return t(key, params);
}
