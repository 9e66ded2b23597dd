// The audit log, readable by a person: who did what to whom, when and where, newest first,
// with a filter by room and "Show older" paging (GET /api/admin/audit).

import { el, replace, uid } from './dom.js';
import { api } from './api.js';
import { formatDate, t } from './i18n.js';
import { describeError } from './wording.js';

const PAGE = 50;

/** What an entry says, in words. */
function describeEntry(entry) {
  const key = `audit.action.${entry.action}`;
  const what = t(key, { target: entry.target?.username ?? '' });
  return what === key ? entry.action : what;
}

function showValue(value) {
  if (value === null || value === undefined) return t('audit.none');
  if (Array.isArray(value)) return value.length ? value.join(', ') : t('audit.none');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The details as short lines ("title: Old → New"); never a message body (the server keeps none). */
function describeDetails(entry) {
  const details = entry.details || {};
  if (details.changes) {
    return Object.entries(details.changes).map(([name, [from, to]]) =>
      t('audit.change', { name, from: showValue(from), to: showValue(to) }));
  }
  if (details.settings) return [t('audit.created')];
  return Object.entries(details).map(([name, value]) => `${name}: ${showValue(value)}`);
}

export function auditPanel(rooms) {
  const titleId = uid('audit');
  const filterId = uid('audit-room');
  const filter = el('select', { id: filterId },
    el('option', { value: '', text: t('audit.all_rooms') }),
    rooms.map((r) => el('option', { value: r.slug, text: r.title })));
  const body = el('tbody');
  const more = el('button', { type: 'button', class: 'quiet', text: t('audit.older'), hidden: true });
  const status = el('p', { class: 'hint', attrs: { role: 'status' } });
  let oldest = null;

  async function load(append) {
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (filter.value) query.set('room', filter.value);
    if (append && oldest) query.set('before_id', oldest);
    status.textContent = t('state.loading');
    try {
      const { entries } = await api('GET', `/api/admin/audit?${query}`);
      if (!append) replace(body);
      body.append(...entries.map(row));
      oldest = entries.length ? entries[entries.length - 1].id : oldest;
      more.hidden = entries.length < PAGE;
      status.textContent = body.children.length ? t('audit.shown', { count: body.children.length }) : t('audit.empty');
    } catch (error) {
      status.textContent = describeError(error);
    }
  }

  function row(entry) {
    return el('tr', {},
      el('td', {}, el('time', { dateTime: new Date(entry.ts).toISOString(), text: formatDate(entry.ts) })),
      el('td', { text: entry.actor?.username ?? t('audit.server') }),
      el('td', { text: describeEntry(entry) }),
      el('td', { text: entry.target?.username ?? '' }),
      el('td', { text: entry.room ?? '' }),
      el('td', {}, el('ul', { class: 'audit-details' }, describeDetails(entry).map((line) => el('li', { text: line })))));
  }

  filter.addEventListener('change', () => load(false));
  more.addEventListener('click', () => load(true));
  load(false);
  return el('section', { class: 'card audit', aria: { labelledby: titleId } },
    el('h2', { id: titleId, text: t('audit.title') }),
    el('div', { class: 'field' }, el('label', { htmlFor: filterId, text: t('audit.filter') }), filter),
    el('div', { class: 'table-scroll', tabIndex: 0, aria: { label: t('audit.caption') }, attrs: { role: 'region' } },
      el('table', {},
        el('caption', { class: 'visually-hidden', text: t('audit.caption') }),
        el('thead', {}, el('tr', {}, ['when', 'who', 'what', 'whom', 'room', 'details'].map((c) =>
          el('th', { scope: 'col', text: t(`audit.col.${c}`) })))),
        body)),
    status, more);
}
