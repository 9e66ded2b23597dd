// The room's recording controls, for a member: the consent switch (only in `opt_in`
// rooms) and "erase my recorded words" (DELETE …/transcript/mine) with a confirm step,
// offered again right after consent is withdrawn.

import { el, replace } from './dom.js';
import { api } from './api.js';
import { t } from './i18n.js';
import { describeError } from './wording.js';
import { confirmButton } from './menu.js';

export class RecordingControls {
  /** `room` gives slug(), consent(recorded, onAnswered), say(text), erased(). */
  constructor(room) {
    this.room = room;
    this.checkbox = el('input', { type: 'checkbox', on: { change: () => this.change() } });
    this.checkbox.setAttribute('role', 'switch');
    this.label = el('label', { class: 'consent' }, this.checkbox, ` ${t('consent.label')}`);
    this.offer = el('div', { class: 'erase-offer', hidden: true });
    this.eraseButton = confirmButton(t('recording.erase'), t('recording.erase.confirm'),
      () => this.erase(), 'link');
    this.node = el('div', { class: 'recording' }, this.label, this.eraseButton, this.offer);
    this.update('off', false);
  }

  /** Show the switch only in `opt_in` rooms (elsewhere the header says nothing is recorded). */
  update(mode, recorded) {
    const optIn = mode === 'opt_in';
    this.label.hidden = !optIn;
    this.eraseButton.hidden = !optIn;
    if (!optIn) this.offer.hidden = true;
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

  /** Consent was withdrawn: offer to erase what was already recorded. */
  withdrawn() {
    replace(this.offer,
      el('span', { class: 'hint', text: t('recording.offer') }),
      confirmButton(t('recording.erase.also'), t('recording.erase.confirm'), () => this.erase(), 'link'),
      el('button', { type: 'button', class: 'link', text: t('recording.keep'),
        on: { click: () => { this.offer.hidden = true; } } }));
    this.offer.hidden = false;
  }

  async erase() {
    this.offer.hidden = true;
    try {
      const { deleted } = await api('DELETE', `/api/rooms/${encodeURIComponent(this.room.slug())}/transcript/mine`);
      this.room.say(deleted ? t('recording.erased', { count: deleted }) : t('recording.erased_none'));
      this.room.erased();
    } catch (error) {
      this.room.say(describeError(error));
    }
  }
}
