// Enrolling a new kiosk: the administrator names it and its site, and gets a one-time code
// to type into `kiosk enrol` on the machine. The code is shown once, large, with its expiry.
import { h, replace, field, select, announce } from '../dom';
import { t, formatDateTime } from '../i18n';
import { api, ApiFailure } from '../api/client';
import type { NewKiosk, NewKioskResponse, SiteRow } from '../api/rest';
import type { AdminView } from './page';

export async function enrolView(): Promise<AdminView> {
  const sites = await api.get<SiteRow[]>('/api/admin/sites');
  const site = select('site', sites.map((s) => [s.id, `${s.name} (${s.region})`]));
  const name = h('input', { type: 'text', name: 'name', required: true, maxlength: 80, placeholder: t('enrol.nameExample') });
  const result = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'panel' },
    field(t('enrol.site'), site),
    field(t('enrol.name'), name, t('enrol.nameHint')),
    h('button', { type: 'submit', class: 'primary' }, t('enrol.create')),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const created = await api.post<NewKioskResponse>('/api/admin/kiosks', { site: site.value, name: name.value.trim() } satisfies NewKiosk);
      replace(result, h('section', { class: 'panel success' },
        h('h2', {}, t('enrol.created')),
        h('p', {}, t('enrol.codeIs')),
        h('p', { class: 'code big', 'data-testid': 'enrolment-code' }, created.enrolmentCode),
        h('p', {}, t('enrol.expires', { time: formatDateTime(created.expiresAt) })),
        h('pre', {}, `kiosk enrol --broker ${location.origin} --code ${created.enrolmentCode}`),
        h('p', {}, h('a', { href: `#kiosk/${encodeURIComponent(created.kiosk)}` }, t('enrol.openKiosk'))),
      ));
      announce(t('enrol.createdCode', { code: created.enrolmentCode.split('').join(' ') }));
      name.value = '';
    } catch (failure) {
      replace(result, h('p', { class: 'error', role: 'alert' }, failure instanceof ApiFailure ? failure.message : String(failure)));
    }
  });
  return { element: h('div', {}, h('h1', {}, t('enrol.title')), h('p', {}, t('enrol.intro')), form, result) };
}
