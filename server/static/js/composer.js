// Writing: the message box, its quiet status line, raise hand, transcript consent,
// and the private crisis-resources panel (which never blocks writing).

import { el, uid } from './dom.js';
import { formatDate, t } from './i18n.js';

const TYPING_EVERY_MS = 3000;

function codePoints(text) {
  return [...text].length;
}

export class Composer {
  /** `room` gives post(body), send(frame), settings(), and consent changes. */
  constructor(room) {
    this.room = room;
    this.lastTyping = 0;
    const id = uid('compose');
    this.textarea = el('textarea', {
      id, rows: 2, placeholder: t('composer.placeholder'),
      on: { keydown: (e) => this.keydown(e), input: () => this.input() },
    });
    this.textarea.setAttribute('aria-describedby', `${id}-keys`);
    this.counter = el('span', { class: 'counter hint', attrs: { 'aria-live': 'polite' } });
    this.status = el('p', { class: 'composer-status', attrs: { role: 'status', 'aria-live': 'polite' } });
    this.mutedNote = el('p', { class: 'muted-note', hidden: true });
    this.mutedTimer = null;
    this.sendButton = el('button', { type: 'submit', class: 'primary', text: t('composer.send') });
    this.handButton = el('button', {
      type: 'button', class: 'quiet hand-button', text: t('composer.raise_hand'), aria: { pressed: 'false' },
      on: { click: () => this.toggleHand() },
    });
    this.handRaised = false;
    this.consent = new ConsentToggle(room);
    this.crisis = new CrisisPanel();
    this.form = el('form', { class: 'composer', on: { submit: (e) => { e.preventDefault(); this.submit(); } } },
      el('label', { htmlFor: id, class: 'visually-hidden', text: t('composer.label') }),
      el('div', { class: 'compose-row' }, this.textarea, this.sendButton),
      el('div', { class: 'compose-tools' }, this.handButton, this.consent.node, this.counter,
        el('span', { class: 'hint keys', id: `${id}-keys`, text: t('composer.keys') })),
      this.mutedNote,
      this.status);
    this.node = el('div', { class: 'compose-area' }, this.crisis.node, this.form);
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

  /** Show, calmly, that this person's messages are held back by a mute. */
  setMuted(muted, until) {
    clearTimeout(this.mutedTimer);
    this.mutedNote.hidden = !muted;
    if (!muted) return;
    const time = until ? formatDate(until, { hour: '2-digit', minute: '2-digit' }) : null;
    this.mutedNote.textContent = time ? t('composer.muted_until', { time }) : t('composer.muted');
    if (until) this.mutedTimer = setTimeout(() => this.setMuted(false), Math.max(0, until - Date.now()));
  }

  toggleHand() {
    this.room.send({ type: 'hand', raised: !this.handRaised });
  }

  setHand(raised) {
    this.handRaised = raised;
    this.handButton.textContent = raised ? t('composer.lower_hand') : t('composer.raise_hand');
    this.handButton.setAttribute('aria-pressed', String(raised));
  }

  focus() {
    this.textarea.focus();
  }
}

class ConsentToggle {
  constructor(room) {
    this.room = room;
    this.checkbox = el('input', { type: 'checkbox', on: { change: () => this.change() } });
    this.checkbox.setAttribute('role', 'switch');
    this.label = el('label', { class: 'consent' }, this.checkbox, ` ${t('consent.label')}`);
    // In `off` rooms the header already says "This session is not recorded".
    this.node = this.label;
    this.update('off', false);
  }

  /** Show the toggle only in `opt_in` rooms. */
  update(mode, recorded) {
    const optIn = mode === 'opt_in';
    this.label.hidden = !optIn;
    this.set(optIn && recorded);
  }

  set(recorded) {
    this.checkbox.checked = recorded;
    this.checkbox.disabled = false;
    this.label.classList.toggle('on', recorded);
  }

  change() {
    const wanted = this.checkbox.checked;
    // Stay truthful: show the old state until the server confirms the new one.
    this.checkbox.checked = !wanted;
    this.checkbox.disabled = true;
    this.room.consent(wanted, () => { this.checkbox.disabled = false; });
  }
}

class CrisisPanel {
  constructor() {
    this.text = el('p', { class: 'crisis-text' });
    this.node = el('section', { class: 'crisis', hidden: true, aria: { labelledby: 'crisis-title' } },
      el('h2', { id: 'crisis-title', text: t('crisis.title') }),
      this.text,
      el('p', { class: 'hint', text: t('crisis.private') }),
      el('button', { type: 'button', class: 'quiet', text: t('crisis.dismiss'), on: { click: () => { this.node.hidden = true; } } }));
    this.node.setAttribute('role', 'region');
  }

  show(text) {
    this.text.textContent = text;
    this.node.hidden = false;
  }
}
