// The private crisis notice: shown only to the member whose words matched the crisis rules.
// An alert (announced at once) that takes focus, with the 988 Lifeline one tap away by call
// or text; it never blocks writing, and sits in the chat's own scrolling flow (under the
// member's words) rather than squeezing the chat.

import { el, uid } from './dom.js';
import { t } from './i18n.js';

export class CrisisNotice {
  constructor() {
    const titleId = uid('crisis-title');
    this.text = el('p', { class: 'crisis-text' });
    this.node = el('section', {
      class: 'crisis', hidden: true, tabIndex: -1,
      attrs: { role: 'alert' }, aria: { labelledby: titleId },
    },
    el('h2', { id: titleId, text: t('crisis.title') }),
    this.text,
    el('p', { class: 'crisis-links' },
      el('a', { class: 'button primary', href: 'tel:988', text: t('crisis.call') }),
      el('a', { class: 'button quiet', href: 'sms:988', text: t('crisis.text') })),
    el('p', { class: 'hint', text: t('crisis.private') }),
    el('button', { type: 'button', class: 'quiet small', text: t('crisis.dismiss'),
      on: { click: () => this.dismiss() } }));
    this.returnTo = null;
  }

  /** Show the room's resources (text only) and move focus to them. */
  show(text) {
    this.returnTo = document.activeElement;
    this.text.textContent = text;
    this.node.hidden = false;
    this.node.focus({ preventScroll: true });
    // At the bottom of the chat, right under the member's own words.
    const scroller = this.node.parentElement;
    if (scroller) scroller.scrollTop = scroller.scrollHeight;
  }

  dismiss() {
    this.node.hidden = true;
    if (this.returnTo?.isConnected) this.returnTo.focus();
  }
}
