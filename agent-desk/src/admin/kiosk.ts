// One kiosk: its state and devices, its recent heartbeats and last self-test, and what an
// administrator can do to it: run a self-test, put it out of service with a message for the
// citizens who come to it (and back), or revoke its certificate for good.
import { h, replace, field, announce } from '../dom';
import { t, formatDateTime, formatNumber, type MessageKey } from '../i18n';
import { api, ApiFailure } from '../api/client';
import type { KioskView, OutOfService } from '../api/rest';
import type { AdminView } from './page';
import { activityText, alertText, deviceText, kioskState, networkText } from './fleet';

const REFRESH_MS = 3000;

export async function kioskView(id: string): Promise<AdminView> {
  const body = h('div', {});
  const result = h('div', { 'aria-live': 'polite' });
  let kiosk: KioskView | null = null;
  let waitingForSelfTest: string | null = null;

  const act = async (what: () => Promise<unknown>, done: string) => {
    try {
      await what();
      replace(result, h('p', { class: 'success' }, done));
      announce(done);
      await refresh();
    } catch (failure) {
      replace(result, h('p', { class: 'error', role: 'alert' }, failure instanceof ApiFailure ? failure.message : String(failure)));
    }
  };

  const render = () => {
    if (!kiosk) return;
    const k = kiosk;
    const [stateClass, stateText] = kioskState(k);
    const heartbeat = k.lastHeartbeat;
    const test = k.lastSelfTest;
    const message = h('textarea', { name: 'message', rows: 2, maxlength: 500 }, k.outOfService ?? '');
    const deviceRows = (['camera', 'microphone', 'speaker', 'scanner'] as const).map((d) => {
      const [css, text] = deviceText(heartbeat?.devices[d]);
      return h('tr', {}, h('th', { scope: 'row' }, t(`device.${d}`)), h('td', { class: `state ${css}` }, text));
    });
    replace(body,
      h('h1', {}, t('kiosk.title', { name: k.name })),
      h('p', {}, h('a', { href: '#fleet' }, `← ${t('kiosk.back')}`)),
      h('dl', { class: 'facts' },
        h('dt', {}, t('fleet.site')), h('dd', {}, `${k.siteName} (${k.region})`),
        h('dt', {}, t('fleet.state')), h('dd', { class: `state ${stateClass}`, 'data-testid': 'kiosk-state' }, stateText),
        h('dt', {}, t('fleet.activity')), h('dd', {}, activityText(k)),
        h('dt', {}, t('kiosk.lastSeen')), h('dd', {}, k.lastSeen ? formatDateTime(k.lastSeen) : '—'),
        h('dt', {}, t('fleet.version')), h('dd', {}, k.softwareVersion ?? '—'),
        h('dt', {}, t('fleet.network')), h('dd', {}, networkText(k)),
        h('dt', {}, t('kiosk.load')), h('dd', {}, heartbeat ? formatNumber(heartbeat.loadX100 / 100, 2) : '—'),
        h('dt', {}, t('kiosk.disk')), h('dd', {}, heartbeat ? t('kiosk.diskFree', { gb: formatNumber(heartbeat.diskFreeMegabytes / 1024, 1) }) : '—'),
        k.outOfService ? [h('dt', {}, t('kiosk.outOfServiceMessage')), h('dd', {}, k.outOfService)] : null,
      ),
      k.alerts.length > 0 ? h('section', { class: 'panel alerts' }, h('h2', {}, t('kiosk.alerts')), h('ul', {}, k.alerts.map((a) => h('li', { class: 'alert' }, alertText(a))))) : null,
      h('section', { class: 'panel' },
        h('h2', {}, t('kiosk.devices')),
        h('table', {}, h('caption', { class: 'visually-hidden' }, t('kiosk.devices')), h('tbody', {}, deviceRows)),
        h('h3', {}, t('kiosk.heartbeats')),
        k.recentHeartbeats.length === 0 ? h('p', { class: 'muted' }, t('kiosk.noHeartbeats')) : h('table', { class: 'heartbeats' },
          h('caption', { class: 'visually-hidden' }, t('kiosk.heartbeats')),
          h('thead', {}, h('tr', {}, (['kiosk.at', 'fleet.activity', 'device.camera', 'device.microphone', 'device.scanner', 'fleet.network', 'kiosk.load'] as MessageKey[]).map((key) => h('th', { scope: 'col' }, t(key))))),
          h('tbody', {}, k.recentHeartbeats.map((beat) => h('tr', {},
            h('td', {}, formatDateTime(beat.at)),
            h('td', {}, t(`activity.${beat.heartbeat.activity}` as MessageKey)),
            h('td', {}, deviceText(beat.heartbeat.devices.camera)[1]),
            h('td', {}, deviceText(beat.heartbeat.devices.microphone)[1]),
            h('td', {}, deviceText(beat.heartbeat.devices.scanner)[1]),
            h('td', {}, beat.heartbeat.network ? t('network.summary', { rtt: beat.heartbeat.network.rttMs, loss: (beat.heartbeat.network.lossPermille / 10).toFixed(1) }) : '—'),
            h('td', {}, formatNumber(beat.heartbeat.loadX100 / 100, 2)),
          ))),
        ),
      ),
      h('section', { class: 'panel', 'aria-labelledby': 'selftest-title' },
        h('h2', { id: 'selftest-title' }, t('selfTest.title')),
        test ? h('div', { 'data-testid': 'self-test' },
          h('p', { class: `state ${test.passed ? 'ok' : 'bad'}` }, test.passed ? `✓ ${t('selfTest.passed')}` : `✗ ${t('selfTest.failed')}`),
          h('ul', {},
            h('li', {}, t('selfTest.cameraFrames', { frames: test.cameraFrames })),
            h('li', {}, test.microphonePeakDecibelsX10 === null ? t('selfTest.microphoneSilent') : t('selfTest.microphonePeak', { db: formatNumber(test.microphonePeakDecibelsX10 / 10, 1) })),
            h('li', {}, `${t('device.scanner')}: ${deviceText(test.scanner)[1]}`),
            h('li', {}, test.turnReachable ? `✓ ${t('selfTest.turnOk')}` : `✗ ${t('selfTest.turnFailed')}`),
            test.details.map((d) => h('li', {}, d)),
          ),
        ) : h('p', { class: 'muted' }, t('selfTest.none')),
        waitingForSelfTest !== null ? h('p', { role: 'status' }, t('selfTest.running')) : null,
        h('button', {
          disabled: !k.online || waitingForSelfTest !== null,
          onclick: () => void act(async () => {
            waitingForSelfTest = JSON.stringify(k.lastSelfTest);
            await api.post(`/api/admin/kiosks/${encodeURIComponent(k.id)}/self-test`);
          }, t('selfTest.asked')),
        }, t('selfTest.run')),
      ),
      h('section', { class: 'panel', 'aria-labelledby': 'service-title' },
        h('h2', { id: 'service-title' }, t('kiosk.service')),
        field(t('kiosk.serviceMessage'), message, t('kiosk.serviceHint')),
        h('div', { class: 'buttons' },
          h('button', {
            onclick: () => {
              const text = message.value.trim();
              if (!text) {
                replace(result, h('p', { class: 'error', role: 'alert' }, t('kiosk.serviceNeedsMessage')));
                return;
              }
              void act(() => api.post(`/api/admin/kiosks/${encodeURIComponent(k.id)}/out-of-service`, { message: text } satisfies OutOfService), t('kiosk.nowOutOfService'));
            },
          }, t('kiosk.putOutOfService')),
          k.outOfService ? h('button', {
            onclick: () => void act(() => api.post(`/api/admin/kiosks/${encodeURIComponent(k.id)}/out-of-service`, { message: null } satisfies OutOfService), t('kiosk.nowInService')),
          }, t('kiosk.backInService')) : null,
        ),
      ),
      h('section', { class: 'panel danger-zone', 'aria-labelledby': 'revoke-title' },
        h('h2', { id: 'revoke-title' }, t('kiosk.revokeTitle')),
        h('p', {}, t('kiosk.revokeExplained')),
        h('button', {
          class: 'danger',
          disabled: k.revoked,
          onclick: () => {
            if (window.confirm(t('kiosk.revokeConfirm', { name: k.name }))) {
              void act(() => api.post(`/api/admin/kiosks/${encodeURIComponent(k.id)}/revoke`), t('kiosk.revoked'));
            }
          },
        }, t('kiosk.revoke')),
      ),
      result,
    );
  };

  const refresh = async () => {
    try {
      kiosk = await api.get<KioskView>(`/api/admin/kiosks/${encodeURIComponent(id)}`);
      if (waitingForSelfTest !== null && JSON.stringify(kiosk.lastSelfTest) !== waitingForSelfTest) {
        waitingForSelfTest = null;
        announce(kiosk.lastSelfTest?.passed ? t('selfTest.passed') : t('selfTest.failed'));
      }
      // Redrawing under someone's typing would lose it.
      if (!body.contains(document.activeElement) || document.activeElement === body) render();
      else if (!(document.activeElement instanceof HTMLTextAreaElement)) render();
    } catch (failure) {
      replace(body, h('h1', {}, t('kiosk.titleUnknown')), h('p', { class: 'error', role: 'alert' }, failure instanceof ApiFailure ? failure.message : String(failure)));
    }
  };
  await refresh();
  const timer = window.setInterval(() => void refresh(), REFRESH_MS);
  return { element: h('div', {}, body), dispose: () => window.clearInterval(timer) };
}
