// The header every page shares: who is logged in, the language choice, logging out.
import { h } from './dom';
import { t, languageSwitch } from './i18n';
import type { MeResponse } from './api/rest';

export function pageHeader(account: MeResponse, agencyName: string | null, logout: () => void, ...extra: (HTMLElement | null)[]): HTMLElement {
  const role = account.role === 'admin' ? t('role.admin') : account.role === 'interpreter' ? t('role.interpreter') : t('role.officer');
  return h('header', { class: 'page-header' },
    h('p', { class: 'brand' }, 'Nära'),
    h('p', { class: 'who' }, h('strong', {}, account.displayName), ' · ', role, agencyName ? ` · ${agencyName}` : ''),
    ...extra,
    languageSwitch(),
    h('button', { class: 'link', onclick: logout }, t('login.logout')),
  );
}
