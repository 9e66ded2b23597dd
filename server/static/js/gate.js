// What stands before or after the room: connecting, the group agreement, the waiting
// room, and the calm messages shown when the connection ends for good.

import { el, replace } from './dom.js';

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

  connecting(text = 'Connecting…') {
    this.node.hidden = false;
    replace(this.node, el('div', { class: 'gate-card' }, el('p', { class: 'calm', text })));
  }

  agreement(text, onAccept) {
    const accept = el('button', { type: 'button', class: 'primary', text: 'I accept' });
    accept.addEventListener('click', () => {
      accept.disabled = true;
      accept.textContent = 'Thank you…';
      onAccept();
    });
    this.show(
      el('h2', { text: 'Our group agreement' }),
      el('p', { class: 'hint', text: 'Please read this before joining. It helps everyone feel safe.' }),
      el('div', { class: 'agreement-text', text }),
      el('div', { class: 'button-row' }, accept, el('a', { href: '#/', class: 'button quiet', text: 'Not now' })));
  }

  waiting() {
    this.show(
      el('h2', { text: 'Waiting to be let in' }),
      el('div', { class: 'breathing', attrs: { 'aria-hidden': 'true' } }),
      el('p', { class: 'calm', text: 'A facilitator will let you in shortly. Take a breath; there is no rush.' }),
      el('p', { class: 'hint', text: 'You can keep this page open. Nobody in the room can see you yet.' }),
      el('a', { href: '#/', class: 'button quiet', text: 'Leave the waiting room' }));
  }

  /** The connection ended for good; `rejoin` reopens it, or null. */
  closed(title, detail, rejoin) {
    this.show(
      el('h2', { text: title }),
      detail ? el('p', { class: 'calm', text: detail }) : null,
      el('div', { class: 'button-row' },
        el('a', { href: '#/', class: 'button primary', text: 'Back to rooms' }),
        rejoin ? el('button', { type: 'button', class: 'quiet', text: 'Rejoin', on: { click: rejoin } }) : null));
  }
}

/** Title, detail and whether rejoining makes sense, for a final close code. */
export function describeClose(code, reason) {
  switch (code) {
    case 4403: return ["You can't enter this room", 'If you think this is a mistake, please contact a facilitator.', false];
    case 4404: return ['This room does not exist', 'It may have been renamed or removed.', false];
    case 4408: return ['A facilitator removed you from the room', reason ? `Reason: ${reason}` : null, true];
    case 4410: return ['The session has ended', 'Thank you for being here today. Take care of yourself.', true];
    case 4429: return ['You were disconnected', 'Too many requests could not be handled. Please wait a moment before rejoining.', true];
    default: return ['You were disconnected', reason || null, true];
  }
}
