// The account page (#/account): change one's password, and turn two-step sign-in on or off
// (PROTOCOL §8 and the README's protocol additions). No QR code: the secret is shown as text
// and as an otpauth:// link to type or paste into an authenticator app.

import { el, field, replace } from './dom.js';
import { api } from './api.js';
import { describeError } from './wording.js';
import { t } from './i18n.js';

/** The account page; `notice` is shown on top (e.g. "set up two-step sign-in first");
 * `onDone()` once two-step sign-in is on and its recovery codes were saved. */
export function accountView({ notice, onDone } = {}) {
  const factor = el('section', { class: 'card', aria: { labelledby: 'totp-title' } });
  const node = el('section', { class: 'account' },
    el('h1', { text: t('account.title') }),
    notice ? el('p', { class: 'notice', attrs: { role: 'status' }, text: notice }) : null,
    el('div', { class: 'admin-grid' }, passwordForm(), factor));
  showFactor(factor, onDone);
  return { node, destroy() {} };
}

function status(node, ok, text) {
  node.className = ok ? 'notice' : 'form-error';
  node.textContent = text;
}

function passwordForm() {
  const current = field(t('account.current_password'), el('input', {
    type: 'password', name: 'current_password', autocomplete: 'current-password', required: true,
  }));
  const next = field(t('account.new_password'), el('input', {
    type: 'password', name: 'new_password', autocomplete: 'new-password', required: true, minLength: 8, maxLength: 128,
  }), t('account.new_password_hint'));
  const message = el('p', { attrs: { role: 'status' } });
  const form = el('form', { class: 'card', aria: { labelledby: 'password-title' } },
    el('h2', { id: 'password-title', text: t('account.password_title') }),
    el('p', { class: 'calm', text: t('account.password_intro') }),
    current.wrap, next.wrap, message,
    el('button', { type: 'submit', class: 'primary', text: t('account.change_password') }));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api('POST', '/api/auth/password', {
        current_password: current.input.value, new_password: next.input.value,
      });
      form.reset();
      status(message, true, t('account.password_changed'));
    } catch (error) {
      status(message, false, error.code === 'bad_credentials' ? t('account.wrong_password') : describeError(error));
    }
  });
  return form;
}

async function showFactor(card, onDone) {
  replace(card, el('h2', { id: 'totp-title', text: t('totp.title') }), el('p', { class: 'hint', text: t('totp.loading') }));
  let me;
  try {
    me = await api('GET', '/api/me');
  } catch (error) {
    card.append(el('p', { class: 'form-error', text: describeError(error) }));
    return;
  }
  if (me.totp.enabled) turnOffForm(card);
  else startSetup(card, me.totp.setup_required, onDone);
}

function startSetup(card, required, onDone) {
  const begin = el('button', { type: 'button', class: 'primary', text: t('totp.begin') });
  const message = el('p', { attrs: { role: 'status' } });
  replace(card,
    el('h2', { id: 'totp-title', text: t('totp.title') }),
    el('p', { text: required ? t('totp.required') : t('totp.off') }),
    el('p', { class: 'calm', text: t('totp.intro') }),
    message, el('div', { class: 'button-row' }, begin));
  begin.addEventListener('click', async () => {
    try {
      const { secret, uri } = await api('POST', '/api/auth/totp/setup');
      confirmStep(card, secret, uri, onDone);
    } catch (error) {
      status(message, false, describeError(error));
    }
  });
}

function confirmStep(card, secret, uri, onDone) {
  const code = field(t('totp.code'), el('input', {
    type: 'text', name: 'code', inputMode: 'numeric', autocomplete: 'one-time-code', required: true,
    maxLength: 6, pattern: '[0-9]{6}',
  }), t('totp.code_hint'));
  const message = el('p', { attrs: { role: 'status' } });
  const form = el('form', {},
    el('p', { text: t('totp.step_secret') }),
    el('p', {}, el('code', { class: 'secret', text: secret })),
    el('p', { text: t('totp.step_uri') }),
    el('p', {}, el('code', { class: 'secret', text: uri })),
    code.wrap, message,
    el('button', { type: 'submit', class: 'primary', text: t('totp.confirm') }));
  replace(card, el('h2', { id: 'totp-title', text: t('totp.title') }), form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const { recovery_codes: codes } = await api('POST', '/api/auth/totp/confirm', { code: code.input.value.trim() });
      showRecoveryCodes(card, codes, onDone);
    } catch (error) {
      status(message, false, error.code === 'invalid' ? t('totp.wrong_code') : describeError(error));
      code.input.focus();
    }
  });
  queueMicrotask(() => code.input.focus());
}

function showRecoveryCodes(card, codes, onDone) {
  const done = el('button', { type: 'button', class: 'primary', text: t('totp.saved_codes') });
  const heading = el('h2', { id: 'totp-title', tabIndex: -1, text: t('totp.on_title') });
  replace(card, heading,
    el('p', { class: 'notice', text: t('totp.recovery_intro') }),
    el('ul', { class: 'recovery-codes', aria: { label: t('totp.recovery_label') } },
      codes.map((c) => el('li', {}, el('code', { text: c })))),
    el('div', { class: 'button-row' }, done));
  heading.focus();
  done.addEventListener('click', () => {
    if (onDone) onDone();
    else location.hash = '#/';
  });
}

function turnOffForm(card) {
  const pass = field(t('account.current_password'), el('input', {
    type: 'password', name: 'password', autocomplete: 'current-password', required: true,
  }));
  const message = el('p', { attrs: { role: 'status' } });
  const form = el('form', {},
    el('p', { text: t('totp.is_on') }),
    pass.wrap, message,
    el('button', { type: 'submit', class: 'danger', text: t('totp.turn_off') }));
  replace(card, el('h2', { id: 'totp-title', text: t('totp.title') }), form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api('POST', '/api/auth/totp/disable', { password: pass.input.value });
      showFactor(card, onDone);
    } catch (error) {
      status(message, false, error.code === 'bad_credentials' ? t('account.wrong_password') : describeError(error));
    }
  });
}
