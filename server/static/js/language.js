// The page's language (PROTOCOL §7): the signed-in user's setting, else the browser's.
// A labelled select in the header changes it on every page, and saves it to the account
// (PATCH /api/me) when someone is signed in.

import { el, uid } from './dom.js';
import { api } from './api.js';
import { LANGUAGES, browserLanguage, language, setLanguage, t } from './i18n.js';

/** Speak `user`'s language, or (signed out) the browser's; sets <html lang>. */
export function speakFor(user) {
  return setLanguage(user?.language || browserLanguage());
}

/**
 * The header's language select. After a change the page speaks the new language and
 * `changed(user)` is called (with the saved user when signed in, else null) to redraw.
 */
export function languagePicker(user, changed) {
  const id = uid('language');
  const options = Object.entries(LANGUAGES).map(([code, name]) =>
    el('option', { value: code, text: name, selected: code === language(), attrs: { lang: code } }));
  const select = el('select', { id, class: 'language-select' }, options);
  select.addEventListener('change', async () => {
    const chosen = setLanguage(select.value);
    let saved = null;
    if (user) {
      try {
        saved = (await api('PATCH', '/api/me', { language: chosen })).user;
      } catch {
        saved = { ...user, language: chosen }; // this page speaks it; the account may not yet
      }
    }
    changed(saved);
  });
  return el('span', { class: 'language' },
    el('label', { htmlFor: id, class: 'visually-hidden', text: t('nav.language') }), select);
}
