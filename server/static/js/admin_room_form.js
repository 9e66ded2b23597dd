// The admin's room form: create a room, or edit every setting of one (PROTOCOL §2 `room`
// and the README's protocol additions). Only the settings this form knows are sent, so
// settings added by other parts of the page are never overwritten.

import { el, field, uid } from './dom.js';
import { api } from './api.js';
import { t } from './i18n.js';
import { describeError } from './wording.js';

const CHOICES = {
  access: ['open', 'members', 'approval'],
  transcripts: ['off', 'opt_in'],
  transcript_readers: ['facilitators', 'members'],
  contact_details: ['allow', 'warn', 'hold'],
};

function select(name, value) {
  return el('select', { name }, CHOICES[name].map((v) => el('option', {
    value: v, text: t(`admin.room.${name}.${v}`), selected: v === value,
  })));
}

function number(name, min, max) {
  return el('input', { type: 'number', name, min, max: max ?? undefined, step: 1 });
}

/** The fields, each with how to show a room's value and how to read it back. */
function buildFields() {
  const f = {
    title: field(t('admin.room.title'), el('input', { type: 'text', name: 'title', required: true, maxLength: 200 })),
    description: field(t('admin.room.description'), el('textarea', { name: 'description', rows: 2, maxLength: 5000 })),
    agreement: field(t('admin.room.agreement'), el('textarea', { name: 'agreement', rows: 4, maxLength: 20000 }),
      t('admin.room.agreement.hint')),
    access: field(t('admin.room.access'), select('access', 'open')),
    transcripts: field(t('admin.room.transcripts'), select('transcripts', 'off')),
    transcript_readers: field(t('admin.room.transcript_readers'), select('transcript_readers', 'facilitators')),
    retention_days: field(t('admin.room.retention_days'), number('retention_days', 1), t('admin.room.retention_days.hint')),
    slow_mode_seconds: field(t('admin.room.slow_mode_seconds'), number('slow_mode_seconds', 0, 3600), t('admin.room.slow_mode_seconds.hint')),
    max_message_chars: field(t('admin.room.max_message_chars'), number('max_message_chars', 1, 10000)),
    resume_window_seconds: field(t('admin.room.resume_window_seconds'), number('resume_window_seconds', 0, 3600),
      t('admin.room.resume_window_seconds.hint')),
    crisis_resources: field(t('admin.room.crisis_resources'), el('textarea', { name: 'crisis_resources', rows: 3, maxLength: 5000 }),
      t('admin.room.crisis_resources.hint')),
    blocked_terms: field(t('admin.room.blocked_terms'), el('textarea', { name: 'blocked_terms', rows: 3 }),
      t('admin.room.blocked_terms.hint')),
    contact_details: field(t('admin.room.contact_details'), select('contact_details', 'allow')),
    hooks: field(t('admin.room.hooks'), el('input', { type: 'text', name: 'hooks' }), t('admin.room.hooks.hint')),
  };
  const locked = el('input', { type: 'checkbox', name: 'locked', id: uid('locked') });
  f.locked = { input: locked, wrap: el('div', { class: 'field checkbox' }, locked, el('label', { htmlFor: locked.id, text: t('admin.room.locked') })) };
  return f;
}

/** Put a room's settings into the fields. */
function fill(f, room) {
  for (const name of ['title', 'description', 'access', 'transcripts', 'transcript_readers', 'contact_details', 'crisis_resources']) {
    if (room[name] !== undefined) f[name].input.value = room[name];
  }
  f.agreement.input.value = room.agreement ?? '';
  f.retention_days.input.value = room.retention_days ?? '';
  for (const name of ['slow_mode_seconds', 'max_message_chars', 'resume_window_seconds']) f[name].input.value = String(room[name]);
  f.locked.input.checked = Boolean(room.locked);
  f.blocked_terms.input.value = (room.blocked_terms || []).join('\n');
  f.hooks.input.value = room.hooks ? room.hooks.join(', ') : '';
}

/** The settings as the API takes them. */
function read(f) {
  const int = (name) => Number.parseInt(f[name].input.value, 10);
  const hooks = f.hooks.input.value.split(',').map((h) => h.trim()).filter(Boolean);
  const settings = {
    title: f.title.input.value,
    description: f.description.input.value,
    agreement: f.agreement.input.value.trim() ? f.agreement.input.value : null,
    access: f.access.input.value,
    transcripts: f.transcripts.input.value,
    transcript_readers: f.transcript_readers.input.value,
    retention_days: f.retention_days.input.value.trim() ? int('retention_days') : null,
    slow_mode_seconds: int('slow_mode_seconds'),
    max_message_chars: int('max_message_chars'),
    resume_window_seconds: int('resume_window_seconds'),
    locked: f.locked.input.checked,
    crisis_resources: f.crisis_resources.input.value,
    blocked_terms: f.blocked_terms.input.value.split('\n').map((x) => x.trim()).filter(Boolean),
    contact_details: f.contact_details.input.value,
    hooks: f.hooks.input.value.trim() ? hooks : null,
  };
  return settings;
}

/**
 * The form for `room` (null: a new room). `onSaved(room)` after the server took it.
 * Returns { node, focus() }.
 */
export function roomForm(room, onSaved) {
  const f = buildFields();
  const slug = field(t('admin.room.slug'), el('input', {
    type: 'text', name: 'slug', required: true, minLength: 2, maxLength: 64, pattern: '[a-z0-9][a-z0-9\\-]{1,63}',
  }), t('admin.room.slug.hint'));
  const message = el('p', { attrs: { role: 'status' } });
  const titleId = uid('room-form');
  const heading = el('h2', { id: titleId, text: room ? t('admin.edit.title', { title: room.title }) : t('admin.create.title') });
  const group = (legend, names) => el('fieldset', {}, el('legend', { text: legend }), names.map((n) => f[n].wrap));
  const form = el('form', { class: 'card room-form', aria: { labelledby: titleId } },
    heading,
    room ? el('p', { class: 'hint', text: t('admin.edit.address', { address: `#/room/${room.slug}` }) }) : slug.wrap,
    group(t('admin.group.about'), ['title', 'description', 'agreement']),
    group(t('admin.group.entering'), ['access', 'locked', 'slow_mode_seconds', 'max_message_chars', 'resume_window_seconds']),
    group(t('admin.group.recording'), ['transcripts', 'transcript_readers', 'retention_days']),
    group(t('admin.group.safety'), ['crisis_resources', 'blocked_terms', 'contact_details', 'hooks']),
    message,
    el('button', { type: 'submit', class: 'primary', text: room ? t('admin.edit.submit') : t('admin.create.submit') }));
  fill(f, room || { slow_mode_seconds: 0, max_message_chars: 2000, resume_window_seconds: 300, retention_days: 30, crisis_resources: '' });
  if (!room) f.crisis_resources.input.placeholder = t('admin.room.crisis_resources.default');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const settings = read(f);
    if (!room && !settings.crisis_resources.trim()) delete settings.crisis_resources;
    message.className = '';
    message.textContent = t('state.saving');
    try {
      const saved = room
        ? (await api('PATCH', `/api/admin/rooms/${encodeURIComponent(room.slug)}`, settings)).room
        : (await api('POST', '/api/admin/rooms', { slug: slug.input.value.trim(), ...settings })).room;
      message.className = 'notice';
      message.textContent = room ? t('admin.edit.done') : t('admin.create.done', { title: saved.title, address: `#/room/${saved.slug}` });
      if (room) fill(f, saved);
      onSaved(saved);
    } catch (error) {
      message.className = 'form-error';
      message.textContent = describeError(error);
    }
  });
  return { node: form, focus: () => (room ? f.title.input : slug.input).focus() };
}
