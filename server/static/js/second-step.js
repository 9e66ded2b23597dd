// The code step of signing in, for accounts with two-step sign-in on: after the password
// was accepted (401 totp_required), ask for the app's code or a recovery code and sign in
// again with it.

import { el, field } from './dom.js';
import { api } from './api.js';
import { describeError } from './wording.js';
import { t } from './i18n.js';

/** A form asking for the code; `onSignedIn(data)` with the login answer; `onBack()`. */
export function codeStep(username, password, onSignedIn, onBack) {
  const code = field(t('totp.login_code'), el('input', {
    type: 'text', name: 'code', autocomplete: 'one-time-code', required: true, maxLength: 64,
  }), t('totp.login_code_hint'));
  const message = el('p', { class: 'form-error', attrs: { role: 'alert' } });
  const submit = el('button', { type: 'submit', class: 'primary', text: t('totp.verify') });
  const form = el('form', { class: 'card auth-form', aria: { labelledby: 'code-title' } },
    el('h1', { id: 'code-title', text: t('totp.login_title') }),
    code.wrap, message,
    el('div', { class: 'button-row' }, submit,
      el('button', { type: 'button', class: 'link', text: t('totp.back'), on: { click: onBack } })));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    message.textContent = '';
    try {
      onSignedIn(await api('POST', '/api/auth/login', { username, password, code: code.input.value.trim() }));
    } catch (error) {
      message.textContent = error.code === 'bad_credentials' ? t('totp.login_wrong') : describeError(error);
      code.input.value = '';
      code.input.focus();
    } finally {
      submit.disabled = false;
    }
  });
  queueMicrotask(() => code.input.focus());
  return form;
}
