// A room's header: its title and description, its settings as badges, the connection's
// state, and (on a phone) the button that shows people and tools.

import { el, replace } from './dom.js';
import { t } from './i18n.js';
import { duration, roomTitle } from './wording.js';

export function roomHeader() {
  const title = el('h1', { id: 'room-title' });
  const description = el('p', { class: 'room-description' });
  const badges = el('ul', { class: 'room-badges', aria: { label: t('room.badges') } });
  const status = el('p', { class: 'connection-status', attrs: { role: 'status' } });
  const sideToggle = el('button', { type: 'button', class: 'quiet side-toggle', hidden: true, text: t('room.people'), aria: { expanded: 'false' } });
  const checkInToggle = el('button', { type: 'button', class: 'primary small checkin-toggle', hidden: true,
    text: t('checkin.show_pane'), aria: { expanded: 'false' } });
  const node = el('header', { class: 'room-header' },
    el('div', { class: 'room-heading' }, title, status),
    description,
    el('div', { class: 'room-header-row' }, badges, sideToggle, checkInToggle));
  const update = (settings) => {
    title.textContent = roomTitle(settings);
    description.textContent = settings.description || '';
    description.hidden = !settings.description;
    const items = [];
    if (settings.transcripts === 'opt_in') items.push(['recording', t('room.badge.recording')]);
    else items.push(['not-recorded', t('room.badge.not_recorded')]);
    if (settings.locked) items.push(['locked', t('room.badge.locked')]);
    if (settings.slow_mode_seconds) items.push(['slow', t('room.badge.slow', { time: duration(settings.slow_mode_seconds) })]);
    if (settings.access === 'approval') items.push(['approval', t('room.badge.approval')]);
    replace(badges, items.map(([kind, text]) => el('li', { class: `badge setting-${kind}`, text })));
  };
  /** Mark the phone's people-and-tools button while crisis flags are open. */
  const crisisFlags = (count) => {
    sideToggle.textContent = count ? t('room.people.crisis', { count }) : t('room.people');
    sideToggle.classList.toggle('alerting', count > 0);
  };
  const say = (text) => { status.textContent = text; };
  return { node, sideToggle, checkInToggle, update, crisisFlags, say };
}
