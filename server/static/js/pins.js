// Pinned notes, shown at the top of the chat itself (on a phone too), folded to one line
// until opened.

import { el, replace } from './dom.js';
import { t } from './i18n.js';

export class PinList {
  /** `room` gives isFacilitator() and mod(). */
  constructor(room) {
    this.room = room;
    this.list = el('ol', { class: 'pin-list' });
    this.summary = el('summary', { class: 'pins-summary' });
    // Open on a wide screen; one line on a phone (or a short or zoomed window) until opened.
    const small = window.matchMedia('(max-width: 760px), (max-height: 560px)');
    this.node = el('details', { class: 'pins', hidden: true, open: !small.matches }, this.summary, this.list);
    small.addEventListener('change', () => { this.node.open = !small.matches; });
  }

  render(pins) {
    this.node.hidden = pins.length === 0;
    this.summary.textContent = t('pins.title', { count: pins.length });
    replace(this.list, pins.map((pin) => el('li', { class: 'pin', dataset: { pinId: pin.pin_id } },
      el('p', { class: 'body', text: pin.body }),
      el('div', { class: 'meta' },
        el('span', { class: 'hint', text: t('pins.by', { name: pin.by ? pin.by.display_name : t('pins.a_facilitator') }) }),
        this.room.isFacilitator()
          ? el('button', { type: 'button', class: 'link', text: t('pins.unpin'),
            on: { click: () => this.room.mod('unpin', { pin_id: pin.pin_id }) } })
          : null))));
  }
}
