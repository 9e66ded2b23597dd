// Writing: the message box, what stands in the way of sending before one sends (locked,
// slow mode, muted), its quiet status line and the raised hand.

import { el, uid } from './dom.js';
import { formatDate, t } from './i18n.js';
import { duration } from './wording.js';

const TYPING_EVERY_MS = 3000;

function codePoints(text) {
  return [...text].length;
}

export class Composer {
  /** `room` gives post(body), send(frame), settings(), isFacilitator(). */
  constructor(room) {
    this.room = room;
    this.lastTyping = 0;
    const id = uid('compose');
    this.textarea = el('textarea', {
      id, rows: 2, placeholder: t('composer.placeholder'),
      on: { keydown: (e) => this.keydown(e), input: () => this.input() },
    });
    this.stateNote = el('p', { class: 'composer-state', id: `${id}-state`, hidden: true });
    this.textarea.setAttribute('aria-describedby', `${id}-state ${id}-keys`);
    this.counter = el('span', { class: 'counter hint', attrs: { 'aria-live': 'polite' } });
    this.status = el('p', { class: 'composer-status', attrs: { role: 'status' } });
    this.muted = { on: false, until: null };
    this.mutedTimer = null;
    this.lastSent = 0; // when our last message went out (ms), for slow mode
    this.slowTimer = null;
    this.sendButton = el('button', { type: 'submit', class: 'primary', text: t('composer.send') });
    this.handButton = el('button', {
      type: 'button', class: 'quiet small hand-button', text: t('composer.raise_hand'),
      on: { click: () => this.toggleHand() },
    });
    this.handRaised = false;
    this.tools = el('div', { class: 'compose-tools' }, this.handButton, this.counter,
      el('span', { class: 'hint keys', id: `${id}-keys`, text: t('composer.keys') }));
    this.node = el('form', { class: 'composer', on: { submit: (e) => { e.preventDefault(); this.submit(); } } },
      el('label', { htmlFor: id, class: 'visually-hidden', text: t('composer.label') }),
      this.stateNote,
      el('div', { class: 'compose-row' }, this.textarea, this.sendButton),
      this.tools,
      this.status);
  }

  /** Put another control (the recording switch) among the composer's tools. */
  addTool(node) {
    this.handButton.after(node);
  }

  keydown(event) {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.submit();
    }
  }

  input() {
    const max = this.room.settings().max_message_chars;
    const length = codePoints(this.textarea.value);
    this.counter.textContent = max && length > max * 0.8 ? t('composer.counter', { length, max }) : '';
    this.counter.classList.toggle('over', Boolean(max) && length > max);
    const now = Date.now();
    if (this.textarea.value && now - this.lastTyping > TYPING_EVERY_MS) {
      this.lastTyping = now;
      this.room.send({ type: 'typing' });
    }
  }

  submit() {
    const body = this.textarea.value;
    if (!body.trim()) return;
    const max = this.room.settings().max_message_chars;
    if (max && codePoints(body) > max) {
      this.say(t('composer.too_long', { count: codePoints(body) - max }));
      return;
    }
    this.room.post(body);
    this.textarea.value = '';
    this.lastTyping = 0;
    this.input();
    this.say('');
  }

  /** Put text back in the box (retrying a refused message). */
  restore(body) {
    this.textarea.value = body;
    this.textarea.focus();
    this.input();
  }

  say(text) {
    this.status.textContent = text;
  }

  /** This person's messages are held back by a mute (until `until`, ms, or unmuted). */
  setMuted(muted, until) {
    clearTimeout(this.mutedTimer);
    this.muted = { on: muted, until: muted ? until : null };
    if (muted && until) this.mutedTimer = setTimeout(() => this.setMuted(false), Math.max(0, until - Date.now()));
    this.showState();
  }

  /** Say, before anyone sends, what will stop a message: a mute, a lock, slow mode. */
  showState() {
    const settings = this.room.settings();
    const exempt = this.room.isFacilitator();
    const lines = [];
    if (this.muted.on) {
      const time = this.muted.until ? formatDate(this.muted.until, { hour: '2-digit', minute: '2-digit' }) : null;
      lines.push(time ? t('composer.muted_until', { time }) : t('composer.muted'));
    }
    if (settings.locked) lines.push(exempt ? t('composer.locked_exempt') : t('composer.locked'));
    clearTimeout(this.slowTimer);
    if (settings.slow_mode_seconds && !exempt) {
      lines.push(t('composer.slow', { time: duration(settings.slow_mode_seconds) }));
      const next = this.lastSent + settings.slow_mode_seconds * 1000;
      if (next > Date.now()) {
        lines.push(t('composer.slow_next', { time: formatDate(next, { hour: '2-digit', minute: '2-digit' }) }));
        this.slowTimer = setTimeout(() => this.showState(), next - Date.now());
      }
    }
    this.stateNote.textContent = lines.join(' ');
    this.stateNote.hidden = lines.length === 0;
    this.stateNote.classList.toggle('blocking', this.muted.on || (settings.locked && !exempt));
  }

  /** One of our messages went out at `ts` (slow mode counts from there). */
  sent(ts) {
    this.lastSent = Math.max(this.lastSent, ts);
    this.showState();
  }

  toggleHand() {
    this.room.send({ type: 'hand', raised: !this.handRaised });
  }

  setHand(raised) {
    this.handRaised = raised;
    this.handButton.textContent = raised ? t('composer.lower_hand') : t('composer.raise_hand');
    this.handButton.classList.toggle('raised', raised);
  }

  focus() {
    this.textarea.focus();
  }
}
