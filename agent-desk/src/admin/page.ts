// The administrator's pages: the fleet (`fleet.ts`) and one kiosk (`kiosk.ts`), enrolling
// new kiosks (`enrol.ts`), agencies, sites and people (`directory.ts`), statistics
// (`statistics.ts`) and the audit log. Which one shows follows the address's `#fragment`,
// so each can be bookmarked and the browser's back button works.
import { h, replace, announce } from '../dom';
import { t, type MessageKey } from '../i18n';
import { api } from '../api/client';
import type { KioskView, MeResponse } from '../api/rest';
import { pageHeader } from '../layout';
import { fleetView } from './fleet';
import { kioskView } from './kiosk';
import { enrolView } from './enrol';
import { directoryView } from './directory';
import { statisticsView } from './statistics';
import { auditView } from './audit';
import { alertText } from './fleet';

type Section = 'fleet' | 'enrol' | 'directory' | 'statistics' | 'audit';
const SECTIONS: Section[] = ['fleet', 'enrol', 'directory', 'statistics', 'audit'];
const ALERT_POLL_MS = 10_000;

export interface AdminView {
  element: HTMLElement;
  /** Stops timers when another view takes over. */
  dispose?: () => void;
}

export async function adminPage(root: HTMLElement, account: MeResponse): Promise<void> {
  const content = h('div', { class: 'admin-content' });
  const nav = h('nav', { 'aria-label': t('admin.nav') });
  let current: AdminView | null = null;
  // Whatever page is open, a kiosk that breaks is told: in the tab's title, beside "Kiosks",
  // and read out once.
  let known: Set<string> | null = null;
  let alertCount = 0;
  const watchAlerts = async () => {
    try {
      const kiosks = await api.get<KioskView[]>('/api/admin/kiosks');
      const now = new Set(kiosks.flatMap((k) => k.alerts.map((a) => `${k.name} (${k.siteName}): ${alertText(a)}`)));
      const fresh = known === null ? [] : [...now].filter((a) => !known?.has(a));
      known = now;
      alertCount = now.size;
      document.title = alertCount > 0 ? `(${alertCount}) ${t('app.title')}` : t('app.title');
      for (const badge of nav.querySelectorAll('.alert-count')) badge.textContent = alertCount > 0 ? t('admin.alertCount', { count: alertCount }) : '';
      if (fresh.length > 0) announce(t('admin.newAlerts', { alerts: fresh.join('; ') }));
    } catch {
      // The fleet page says when it cannot refresh; this watch tries again.
    }
  };

  async function route(): Promise<void> {
    const [section, argument] = location.hash.replace(/^#/, '').split('/');
    current?.dispose?.();
    const active: Section = SECTIONS.includes(section as Section) ? (section as Section) : section === 'kiosk' ? 'fleet' : 'fleet';
    replace(nav, h('ul', {}, SECTIONS.map((s) =>
      h('li', {}, h('a', { href: `#${s}`, 'aria-current': s === active ? 'page' : null }, t(`admin.section.${s}` as MessageKey),
        s === 'fleet' ? h('span', { class: 'alert-count' }, alertCount > 0 ? t('admin.alertCount', { count: alertCount }) : '') : null)))));
    current = section === 'kiosk' && argument ? await kioskView(decodeURIComponent(argument))
      : active === 'enrol' ? await enrolView()
        : active === 'directory' ? await directoryView()
          : active === 'statistics' ? await statisticsView()
            : active === 'audit' ? await auditView()
              : await fleetView();
    replace(content, current.element);
    const heading = content.querySelector('h1');
    if (heading instanceof HTMLElement) {
      heading.tabIndex = -1;
      heading.focus();
    }
  }

  const logout = async () => {
    await api.post('/api/logout');
    location.assign('/');
  };
  replace(root, pageHeader(account, null, logout), h('div', { class: 'admin' }, nav, h('main', { id: 'main', tabindex: -1 }, content)));
  window.addEventListener('hashchange', () => void route());
  await watchAlerts();
  window.setInterval(() => void watchAlerts(), ALERT_POLL_MS);
  await route();
}
