// The admin's room settings for sessions (PROTOCOL §5): weekly meeting times (weekday,
// start, length) in a time zone, who may enter when, and how many members at once.

import { el, field, replace, uid } from './dom.js';
import { api } from './api.js';
import { describeError } from './wording.js';
import { formatDate, t } from './i18n.js';

// 5 January 2026 was a Monday: weekday names in the page's language, Monday first.
const WEEKDAYS = Array.from({ length: 7 }, (_, day) => formatDate(Date.UTC(2026, 0, 5 + day, 12), { weekday: 'long', timeZone: 'UTC' }));

function zones() {
  const all = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return all.includes('UTC') ? all : ['UTC', ...all];
}

function choice(name, options, value) {
  return el('select', { name }, options.map(([v, label]) => el('option', { value: v, text: label, selected: v === value })));
}

function slotRow(slot, onRemove, n) {
  const id = uid('slot');
  const legend = t('schedule.slot_n', { n });
  const day = choice('weekday', WEEKDAYS.map((name, i) => [String(i), name]), String(slot.weekday));
  const start = el('input', { type: 'time', name: 'start', required: true, value: slot.start });
  const minutes = el('input', { type: 'number', name: 'minutes', min: 5, max: 480, step: 5, required: true, value: String(slot.minutes) });
  const row = el('fieldset', { class: 'slot', id },
    el('legend', { text: legend }),
    field(t('schedule.weekday'), day).wrap,
    field(t('schedule.start'), start).wrap,
    field(t('schedule.minutes'), minutes).wrap,
    el('button', { type: 'button', class: 'link', text: t('schedule.remove_slot'),
      aria: { label: `${t('schedule.remove_slot')}: ${legend}` }, on: { click: () => onRemove(row) } }));
  row.read = () => ({ weekday: Number(day.value), start: start.value, minutes: Number(minutes.value) });
  return row;
}

/** The schedule, entry and capacity form for `room`, beside its settings on the admin page. */
export function scheduleForm(room) {
  const message = el('p', { attrs: { role: 'status' } });
  const settings = el('div', { class: 'schedule-settings', hidden: true });
  const form = el('form', { class: 'card schedule-form', aria: { labelledby: 'schedule-title' } },
    el('h2', { id: 'schedule-title', text: t('schedule.title') }),
    settings, message);
  let slots = [];
  let rows = null;
  let timezone = null;
  let entry = null;
  let capacity = null;

  const renumber = () => replace(rows, slots.length
    ? slots.map((row, i) => { row.querySelector('legend').textContent = t('schedule.slot_n', { n: i + 1 }); return row; })
    : el('p', { class: 'hint', text: t('schedule.no_slots') }));
  const remove = (row) => {
    slots = slots.filter((r) => r !== row);
    renumber();
  };
  const addSlot = (slot) => {
    slots.push(slotRow(slot, remove, slots.length + 1));
    renumber();
  };

  function show(room) {
    rows = el('div', { class: 'slots' });
    slots = [];
    timezone = field(t('schedule.timezone'), choice('timezone', zones().map((z) => [z, z]), room.timezone));
    entry = field(t('schedule.entry'), choice('entry',
      [['always', t('schedule.entry_always')], ['in_session', t('schedule.entry_in_session')]], room.entry));
    capacity = field(t('schedule.capacity'), el('input', { type: 'number', name: 'max_participants', min: 2, max: 1000,
      value: room.max_participants == null ? '' : String(room.max_participants) }));
    replace(settings,
      el('fieldset', {}, el('legend', { text: t('schedule.slots_legend') }), rows,
        el('button', { type: 'button', class: 'quiet small', text: t('schedule.add_slot'),
          on: { click: () => addSlot({ weekday: 0, start: '18:00', minutes: 60 }) } })),
      timezone.wrap, entry.wrap, capacity.wrap,
      el('button', { type: 'submit', class: 'primary', text: t('schedule.save') }));
    for (const slot of room.schedule || []) addSlot(slot);
    renumber();
    settings.hidden = false;
  }

  const path = () => `/api/admin/rooms/${encodeURIComponent(room.slug)}`;
  show(room);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (settings.hidden) return;
    const body = {
      schedule: slots.map((row) => row.read()),
      timezone: timezone.input.value,
      entry: entry.input.value,
      max_participants: capacity.input.value === '' ? null : Number(capacity.input.value),
    };
    try {
      const { room } = await api('PATCH', path(), body);
      message.className = 'notice';
      message.textContent = t('schedule.saved', { title: room.title });
    } catch (error) {
      message.className = 'form-error';
      message.textContent = describeError(error);
    }
  });
  return form;
}
