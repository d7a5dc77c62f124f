// Every kiosk at a glance, by region and site: online or not, each device, the network of its
// last call, software version, and whether it is in a call. State is always words with a
// symbol, colour only adds to it. Problems are listed first as alerts. Refreshed every 5 s.
import { h, replace } from '../dom';
import { t, formatDateTime, type MessageKey } from '../i18n';
import { api, ApiFailure } from '../api/client';
import type { KioskView } from '../api/rest';
import type { DeviceState } from '../protocol/protocol';
import type { AdminView } from './page';

const REFRESH_MS = 5000;

export function deviceText(state: DeviceState | undefined): [string, string] {
  if (!state) return ['unknown', `? ${t('device.unknown')}`];
  if (state.state === 'ok') return ['ok', `✓ ${t('device.ok')}`];
  if (state.state === 'missing') return ['bad', `✗ ${t('device.missing')}`];
  return ['bad', `⚠ ${state.detail}`];
}

export function kioskState(kiosk: KioskView): [string, string] {
  if (kiosk.revoked) return ['bad', `⛔ ${t('kiosk.revoked')}`];
  if (!kiosk.enrolled) return ['unknown', `… ${t('kiosk.notEnrolled')}`];
  if (!kiosk.online) return ['bad', `✗ ${t('kiosk.offline')}`];
  if (kiosk.outOfService) return ['warn', `⏸ ${t('kiosk.outOfService')}`];
  return ['ok', `✓ ${t('kiosk.online')}`];
}

export function activityText(kiosk: KioskView): string {
  const activity = kiosk.online ? kiosk.lastHeartbeat?.activity : undefined;
  return activity ? t(`activity.${activity}` as MessageKey) : '—';
}

export function networkText(kiosk: KioskView): string {
  const network = kiosk.lastHeartbeat?.network;
  return network ? t('network.summary', { rtt: network.rttMs, loss: (network.lossPermille / 10).toFixed(1) }) : '—';
}

/** The broker's alert ("offline", "scanner: paper jam") in the page's language. */
export function alertText(alert: string): string {
  const known: Record<string, MessageKey> = { offline: 'kiosk.offline', revoked: 'kiosk.revoked', 'not enrolled yet': 'kiosk.notEnrolled' };
  if (known[alert]) return t(known[alert]);
  const [device, detail] = alert.split(': ', 2);
  const devices: Record<string, MessageKey> = { camera: 'device.camera', microphone: 'device.microphone', speaker: 'device.speaker', scanner: 'device.scanner' };
  if (devices[device] && detail !== undefined) return `${t(devices[device])}: ${detail === 'missing' ? t('device.missing') : detail}`;
  return alert;
}

export async function fleetView(): Promise<AdminView> {
  const alerts = h('section', { class: 'panel alerts', 'aria-labelledby': 'alerts-title' });
  const table = h('div', {});
  const updated = h('p', { class: 'muted', 'aria-live': 'off' });
  const filter = h('input', { type: 'search', id: 'fleet-filter', placeholder: t('fleet.filterHint') });
  const onlyProblems = h('input', { type: 'checkbox', id: 'fleet-problems' });
  let kiosks: KioskView[] = [];

  const render = () => {
    const query = filter.value.trim().toLowerCase();
    const shown = kiosks.filter((k) =>
      (!onlyProblems.checked || k.alerts.length > 0) &&
      (!query || `${k.name} ${k.siteName} ${k.region} ${k.id}`.toLowerCase().includes(query)));
    const problems = kiosks.filter((k) => k.alerts.length > 0);
    replace(alerts,
      h('h2', { id: 'alerts-title' }, t('fleet.alerts', { count: problems.length })),
      problems.length === 0 ? h('p', {}, `✓ ${t('fleet.noAlerts')}`)
        : h('ul', {}, problems.map((k) => h('li', { class: 'alert' },
            h('a', { href: `#kiosk/${encodeURIComponent(k.id)}` }, `${k.name} (${k.siteName})`), ': ', k.alerts.map(alertText).join(', ')))));
    const regions = [...new Set(shown.map((k) => k.region))].sort();
    replace(table, regions.length === 0 ? h('p', {}, t('fleet.none')) : regions.map((region) => {
      const rows = shown.filter((k) => k.region === region).sort((a, b) => a.siteName.localeCompare(b.siteName) || a.name.localeCompare(b.name));
      return h('table', { class: 'fleet' },
        h('caption', {}, t('fleet.region', { region, count: rows.length })),
        h('thead', {}, h('tr', {}, (['fleet.site', 'fleet.kiosk', 'fleet.state', 'device.camera', 'device.microphone', 'device.scanner', 'fleet.network', 'fleet.version', 'fleet.activity'] as MessageKey[])
          .map((key) => h('th', { scope: 'col' }, t(key))))),
        h('tbody', {}, rows.map((k) => {
          const [stateClass, stateText] = kioskState(k);
          const devices = k.lastHeartbeat?.devices;
          const cell = (state: DeviceState | undefined) => {
            const [css, text] = k.online ? deviceText(state) : ['unknown', '—'];
            return h('td', { class: `state ${css}` }, text);
          };
          return h('tr', {},
            h('td', {}, k.siteName),
            h('th', { scope: 'row' }, h('a', { href: `#kiosk/${encodeURIComponent(k.id)}` }, k.name)),
            h('td', { class: `state ${stateClass}`, 'data-kiosk-state': k.id }, stateText),
            cell(devices?.camera), cell(devices?.microphone), cell(devices?.scanner),
            h('td', {}, networkText(k)),
            h('td', {}, k.softwareVersion ?? '—'),
            h('td', {}, activityText(k)),
          );
        })),
      );
    }));
  };

  const refresh = async () => {
    try {
      kiosks = await api.get<KioskView[]>('/api/admin/kiosks');
      updated.textContent = t('fleet.updated', { time: formatDateTime(Date.now()) });
      render();
    } catch (failure) {
      updated.textContent = t('fleet.refreshFailed', { error: failure instanceof ApiFailure ? failure.message : String(failure) });
    }
  };
  filter.addEventListener('input', render);
  onlyProblems.addEventListener('change', render);
  await refresh();
  const timer = window.setInterval(() => void refresh(), REFRESH_MS);
  return {
    element: h('div', {},
      h('h1', {}, t('fleet.title', { count: kiosks.length })),
      updated,
      alerts,
      h('div', { class: 'filters' },
        h('label', { for: 'fleet-filter' }, t('fleet.filter')), filter,
        h('span', { class: 'checkbox' }, onlyProblems, h('label', { for: 'fleet-problems' }, t('fleet.onlyProblems')))),
      table,
    ),
    dispose: () => window.clearInterval(timer),
  };
}
