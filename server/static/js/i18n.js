// Every text a person reads comes from one catalogue per language, through t().
// A catalogue maps a key to a string with {named} placeholders, or to plural forms
// ({one, other, …}, chosen with Intl.PluralRules by the `count` parameter).
// A key missing from a catalogue falls back to English, and one missing there too shows
// the key itself (and a console error), so a gap is visible rather than blank.

import en from './lang/en.js';
import es from './lang/es.js';

export const LANGUAGES = { en: 'English', es: 'Español' };
const catalogues = { en, es };
let current = 'en';

/** The language the page speaks now ('en' or 'es'). */
export function language() {
  return current;
}

/** The supported language a browser prefers, or English. */
export function browserLanguage() {
  for (const tag of navigator.languages || [navigator.language || 'en']) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (base in catalogues) return base;
  }
  return 'en';
}

/** Speak `lang` from now on (unknown ones mean English); sets <html lang>. */
export function setLanguage(lang) {
  current = lang in catalogues ? lang : 'en';
  document.documentElement.lang = current;
  return current;
}

/** The text for `key` in the current language, with {placeholders} filled from `params`. */
export function t(key, params = {}) {
  let entry = catalogues[current][key] ?? en[key];
  if (entry === undefined) {
    console.error(`i18n: no text for ${key}`);
    return key;
  }
  if (typeof entry === 'object') {
    const form = new Intl.PluralRules(current).select(Number(params.count ?? 0));
    entry = entry[form] ?? entry.other;
  }
  return entry.replace(/\{(\w+)\}/g, (match, name) => (name in params ? String(params[name]) : match));
}

/** A date and/or time in the current language's conventions. */
export function formatDate(ts, options = { dateStyle: 'medium', timeStyle: 'short' }) {
  return new Intl.DateTimeFormat(current, options).format(new Date(ts));
}

/** A list of names joined the way the current language does ("Sam and Mia"). */
export function formatList(items) {
  return new Intl.ListFormat(current, { style: 'long', type: 'conjunction' }).format(items);
}
