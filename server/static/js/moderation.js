// The facilitator panel: who is knocking, flags, room controls, and per-member actions.
// Everything goes out as {"type":"mod","action",...} (PROTOCOL §3).

import { el, replace } from './dom.js';
import { confirmButton } from './messages.js';
import { t } from './i18n.js';

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
    this.pinInput = el('input', { type: 'text', maxLength: 2000, id: 'pin-text', placeholder: t('mod.pin.placeholder') });
    this.node = el('section', { class: 'panel moderation', aria: { labelledby: 'mod-title' } },
      el('h2', { id: 'mod-title', text: t('mod.title') }),
      this.status,
      el('h3', {}, `${t('mod.knocks.title')} `, this.knockCount), this.knockList,
      el('h3', {}, `${t('mod.flags.title')} `, this.flagCount), this.flagList,
      el('h3', { text: t('mod.room.title') }), this.roomControls());
    this.renderKnocks();
    this.renderFlags();
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
    this.say(t('mod.knock.arrived', { name: user.display_name }));
  }

  answered(userId) {
    if (this.knocks.delete(userId)) this.renderKnocks();
  }

  renderKnocks() {
    this.knockCount.textContent = String(this.knocks.size);
    if (!this.knocks.size) {
      replace(this.knockList, el('li', { class: 'hint', text: t('mod.knocks.none') }));
      return;
    }
    replace(this.knockList, [...this.knocks.values()].map((user) => el('li', { class: 'knock', dataset: { userId: user.id } },
      el('span', { class: 'member-name', text: user.display_name }),
      el('span', { class: 'hint', text: ` ${t('mod.knock.username', { username: user.username })}` }),
      el('div', { class: 'button-row' },
        el('button', { type: 'button', class: 'primary small', text: t('mod.knock.admit'),
          on: { click: () => this.room.mod('admit', { user_id: user.id }, () => this.answered(user.id)) } }),
        el('button', { type: 'button', class: 'quiet small', text: t('mod.knock.deny'),
          on: { click: () => this.room.mod('deny', { user_id: user.id }, () => this.answered(user.id)) } })))));
  }

  flag(frame) {
    this.flags.unshift(frame);
    this.renderFlags();
    this.say(t('mod.flag.arrived'));
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
      replace(this.flagList, el('li', { class: 'hint', text: t('mod.flags.none') }));
      return;
    }
    replace(this.flagList, this.flags.map((flag) => {
      const author = this.room.nameOf(flag.user_id) || t('mod.flag.someone_who_left');
      const reporter = flag.reported_by ? (this.room.nameOf(flag.reported_by) || t('mod.flag.a_member')) : null;
      let origin = t('mod.flag.automatic');
      if (flag.source === 'report') origin = t('mod.flag.reported_by', { name: reporter });
      else if (flag.hook) origin = t('mod.flag.automatic_hook', { hook: flag.hook });
      return el('li', { class: 'flag' },
        el('p', { class: 'hint', text: t('mod.flag.origin', { origin, author }) }),
        el('p', { class: 'flag-reason', text: flag.reason || '' }),
        flag.excerpt !== null && flag.excerpt !== undefined
          ? el('blockquote', { class: 'excerpt', text: flag.excerpt })
          : el('p', { class: 'hint', text: t('mod.flag.gone') }),
        el('div', { class: 'button-row' },
          flag.user_id && this.room.checkInFor ? this.room.checkInFor(flag.user_id) : null,
          flag.message_id
            ? confirmButton(t('mod.flag.delete'), t('message.delete.confirm'), () => this.room.mod('delete', { message_id: flag.message_id }), 'quiet small')
            : null,
          el('button', { type: 'button', class: 'link', text: t('mod.flag.dismiss'), on: { click: () => {
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
    const minutes = el('input', { type: 'number', min: 1, step: 1, placeholder: t('mod.member.minutes') });
    minutes.setAttribute('aria-label', t('mod.member.minutes.label', { name: person.display_name }));
    const reason = el('input', { type: 'text', maxLength: 500, placeholder: t('mod.member.reason') });
    reason.setAttribute('aria-label', t('mod.member.reason.label', { name: person.display_name }));
    const act = (action, fields = {}) => me.mod(action, { user_id: person.id, ...fields });
    const reasonField = () => (reason.value.trim() ? { reason: reason.value.trim() } : {});
    return el('details', { class: 'member-actions' },
      el('summary', { text: t('mod.member.actions'), aria: { label: t('mod.member.actions.label', { name: person.display_name }) } }),
      el('div', { class: 'button-row' },
        minutes,
        el('button', { type: 'button', class: 'quiet small', text: t('mod.member.mute'), on: { click: () => {
          const m = Number(minutes.value);
          act('mute', m > 0 ? { seconds: Math.round(m * 60) } : {});
        } } }),
        el('button', { type: 'button', class: 'quiet small', text: t('mod.member.unmute'), on: { click: () => act('unmute') } }),
        el('button', { type: 'button', class: 'quiet small', text: t('mod.member.lower_hand'), on: { click: () => act('lower_hand') } })),
      el('div', { class: 'button-row' },
        reason,
        confirmButton(t('mod.member.remove'), t('mod.member.remove.confirm'), () => act('remove', reasonField()), 'quiet small'),
        confirmButton(t('mod.member.ban'), t('mod.member.ban.confirm'), () => act('ban', reasonField()), 'quiet small')));
  }
}

/** A sentence about a moderation action, for the facilitator's status line. */
export function describeModeration(frame, nameOf) {
  const known = ['mute', 'unmute', 'remove', 'ban', 'unban', 'admit', 'deny', 'lower_hand'];
  if (!known.includes(frame.action)) return '';
  const params = {
    who: frame.by ? frame.by.display_name : t('mod.said.a_facilitator'),
    target: frame.user_id ? (nameOf(frame.user_id) || t('mod.flag.a_member')) : '',
    reason: frame.reason || '',
    minutes: Math.round((frame.seconds || 0) / 60) || 1,
  };
  let key = `mod.said.${frame.action}`;
  if (frame.action === 'mute' && frame.seconds) key = 'mod.said.mute_for';
  if ((frame.action === 'remove' || frame.action === 'ban') && frame.reason) key = `${key}_reason`;
  return t(key, params);
}
