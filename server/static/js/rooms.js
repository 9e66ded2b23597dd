// The list of rooms this person may enter.

import { el, replace } from './dom.js';
import { api } from './api.js';
import { describeError, roomTitle } from './wording.js';
import { t } from './i18n.js';
import { meetingLine } from './sessions.js';

/** The room list page; calls `onUnauthorized()` if the session is gone. */
export function roomsView(onUnauthorized) {
  const list = el('ul', { class: 'room-list', aria: { labelledby: 'rooms-title' } });
  const node = el('section', { class: 'rooms' },
    el('h1', { id: 'rooms-title', text: t('rooms.title') }),
    el('p', { class: 'calm', text: t('rooms.intro') }),
    list);
  replace(list, el('li', { class: 'hint', text: t('state.loading') }));
  api('GET', '/api/rooms').then(({ rooms }) => {
    if (!rooms.length) {
      replace(list, el('li', { class: 'hint', text: t('rooms.none') }));
      return;
    }
    replace(list, rooms.map(roomCard));
  }).catch((error) => {
    if (error.status === 401) onUnauthorized();
    else replace(list, el('li', { class: 'form-error', text: describeError(error) }));
  });
  return { node, destroy() {} };
}

function roomCard(room) {
  return el('li', { class: 'card room-card', dataset: { slug: room.slug } },
    el('h2', {}, el('a', { href: `#/room/${encodeURIComponent(room.slug)}`, text: roomTitle(room) })),
    room.description ? el('p', { class: 'room-description', text: room.description }) : null,
    meetingLine(room),
    el('ul', { class: 'room-badges' },
      el('li', { class: 'badge', text: t(`rooms.access.${room.access}`) }),
      el('li', { class: 'badge', text: room.transcripts === 'opt_in' ? t('rooms.transcript.opt_in') : t('rooms.transcript.off') }),
      room.locked ? el('li', { class: 'badge setting-locked', text: t('rooms.locked') }) : null));
}
