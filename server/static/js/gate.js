// What stands before or after the room: connecting, the group agreement, the waiting
// room, and the calm messages shown when the connection ends for good.

import { el, replace } from './dom.js';
import { t } from './i18n.js';

export class Gate {
  constructor() {
    this.node = el('div', { class: 'gate', attrs: { 'aria-live': 'polite' } });
  }

  hide() {
    this.node.hidden = true;
    replace(this.node);
  }

  show(...children) {
    this.node.hidden = false;
    replace(this.node, el('div', { class: 'gate-card' }, ...children));
    const focusable = this.node.querySelector('button, a');
    if (focusable) focusable.focus();
  }

  connecting(text = t('state.connecting')) {
    this.node.hidden = false;
    replace(this.node, el('div', { class: 'gate-card' }, el('p', { class: 'calm', text })));
  }

  agreement(text, onAccept) {
    const accept = el('button', { type: 'button', class: 'primary', text: t('gate.agreement.accept') });
    accept.addEventListener('click', () => {
      accept.disabled = true;
      accept.textContent = t('gate.agreement.thanks');
      onAccept();
    });
    this.show(
      el('h2', { text: t('gate.agreement.title') }),
      el('p', { class: 'hint', text: t('gate.agreement.intro') }),
      el('div', { class: 'agreement-text', text }),
      el('div', { class: 'button-row' }, accept, el('a', { href: '#/', class: 'button quiet', text: t('gate.agreement.not_now') })));
  }

  waiting() {
    this.show(
      el('h2', { text: t('gate.waiting.title') }),
      el('div', { class: 'breathing', attrs: { 'aria-hidden': 'true' } }),
      el('p', { class: 'calm', text: t('gate.waiting.calm') }),
      el('p', { class: 'hint', text: t('gate.waiting.hint') }),
      el('a', { href: '#/', class: 'button quiet', text: t('gate.waiting.leave') }));
  }

  /** The connection ended for good; `rejoin` reopens it, or null. */
  closed(title, detail, rejoin) {
    this.show(
      el('h2', { text: title }),
      detail ? el('p', { class: 'calm', text: detail }) : null,
      el('div', { class: 'button-row' },
        el('a', { href: '#/', class: 'button primary', text: t('gate.back_to_rooms') }),
        rejoin ? el('button', { type: 'button', class: 'quiet', text: t('gate.rejoin'), on: { click: rejoin } }) : null));
  }
}
