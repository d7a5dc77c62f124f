// Everything the pages say, in Swedish (first) and English, chosen per browser and kept in
// localStorage. Messages take `{name}` parameters. Dates, times and language names come from
// `Intl` in the chosen language.
import { h } from './dom';
import { sv } from './messages/sv';
import { en } from './messages/en';

export type MessageKey = keyof typeof sv;
export type Language = 'sv' | 'en';

const catalogs: Record<Language, Record<MessageKey, string>> = { sv, en };
const STORAGE_KEY = 'nara.language';

let language: Language = localStorage.getItem(STORAGE_KEY) === 'en' ? 'en' : 'sv';
let changed: () => void = () => undefined;
let locked = false;

export function currentLanguage(): Language {
  return language;
}

export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  const text = catalogs[language][key] ?? sv[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? `{${name}}`));
}

/** `one` for a count of exactly one, `many` otherwise (enough for Swedish and English). */
export function plural(count: number, one: MessageKey, many: MessageKey, params: Record<string, string | number> = {}): string {
  return t(count === 1 ? one : many, { ...params, count });
}

export function applyLanguage(): void {
  document.documentElement.lang = language;
  document.title = t('app.title');
  const skip = document.querySelector('.skip-link');
  if (skip) skip.textContent = t('app.skip');
}

export function onLanguageChange(callback: () => void): void {
  changed = callback;
}

/** While a call runs, changing language (which redraws the page) waits. */
export function lockLanguage(lock: boolean): void {
  locked = lock;
  for (const button of document.querySelectorAll<HTMLButtonElement>('.language-switch button')) button.disabled = lock;
}

export function languageSwitch(): HTMLElement {
  const other: Language = language === 'sv' ? 'en' : 'sv';
  return h('div', { class: 'language-switch' },
    h('button', {
      lang: other,
      disabled: locked,
      'aria-label': other === 'en' ? 'Switch to English' : 'Byt till svenska',
      onclick: () => {
        language = other;
        localStorage.setItem(STORAGE_KEY, other);
        changed();
      },
    }, other === 'en' ? 'English' : 'Svenska'),
  );
}

// Dari is not in every browser's list of language names.
const extraNames: Record<string, Record<Language, string>> = {
  prs: { sv: 'dari', en: 'Dari' },
};

export function languageName(code: string): string {
  const extra = extraNames[code];
  if (extra) return extra[language];
  try {
    const name = new Intl.DisplayNames([language], { type: 'language' }).of(code);
    if (name && name !== code) return name;
  } catch {
    // An unknown code: show it as it is.
  }
  return code;
}

export function formatTime(ms: number): string {
  return new Intl.DateTimeFormat(language === 'sv' ? 'sv-SE' : 'en-GB', { hour: '2-digit', minute: '2-digit' }).format(ms);
}

export function formatDateTime(ms: number): string {
  return new Intl.DateTimeFormat(language === 'sv' ? 'sv-SE' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' }).format(ms);
}

export function formatNumber(value: number, digits = 0): string {
  return new Intl.NumberFormat(language === 'sv' ? 'sv-SE' : 'en-GB', { maximumFractionDigits: digits }).format(value);
}
