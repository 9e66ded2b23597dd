// The list of rooms this person may enter.

import { el, replace } from './dom.js';
import { api, describeError } from './api.js';
import { meetingLine } from './sessions.js';

const ACCESS = { open: 'Open to everyone', members: 'Members only', approval: 'Waiting room' };

/** The room list page; calls `onUnauthorized()` if the session is gone. */
export function roomsView(onUnauthorized) {
  const list = el('ul', { class: 'room-list', aria: { labelledby: 'rooms-title' } });
  const node = el('section', { class: 'rooms' },
    el('h1', { id: 'rooms-title', text: 'Your rooms' }),
    el('p', { class: 'calm', text: 'Choose a group to join. You can leave whenever you need to.' }),
    list);
  replace(list, el('li', { class: 'hint', text: 'Loading…' }));
  api('GET', '/api/rooms').then(({ rooms }) => {
    if (!rooms.length) {
      replace(list, el('li', { class: 'hint', text: 'There are no rooms for you yet. A facilitator can add you to one.' }));
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
    el('h2', {}, el('a', { href: `#/room/${encodeURIComponent(room.slug)}`, text: room.title || room.slug })),
    room.description ? el('p', { class: 'room-description', text: room.description }) : null,
    meetingLine(room),
    el('ul', { class: 'room-badges' },
      el('li', { class: 'badge', text: ACCESS[room.access] || room.access }),
      el('li', { class: 'badge', text: room.transcripts === 'opt_in' ? 'Transcript with consent' : 'Not recorded' }),
      room.locked ? el('li', { class: 'badge setting-locked', text: 'Locked' }) : null));
}
