// Agencies (opening hours, languages), sites and people (officers, interpreters,
// administrators): the lists, and forms to add or change them. Queues are an agency's
// languages: an agency serving Arabic has an Arabic queue.
import { h, replace, field, select, announce } from '../dom';
import { t, languageName, type MessageKey } from '../i18n';
import { api, ApiFailure } from '../api/client';
import type { AgencyRow, NewStaff, Role, SiteRow, StaffView } from '../api/rest';
import type { AdminView } from './page';
import { abilitiesForm } from './abilities';

const list = (value: string) => value.split(',').map((s) => s.trim()).filter(Boolean);

function formWith(title: string, submitLabel: string, fields: HTMLElement[], submit: () => Promise<string>): HTMLElement {
  const result = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'panel' }, h('fieldset', {}, h('legend', {}, title), ...fields, h('button', { type: 'submit' }, submitLabel)), result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const done = await submit();
      replace(result, h('p', { class: 'success' }, done));
      announce(done);
    } catch (failure) {
      replace(result, h('p', { class: 'error', role: 'alert' }, failure instanceof ApiFailure ? failure.message : String(failure)));
    }
  });
  return form;
}

export async function directoryView(): Promise<AdminView> {
  const element = h('div', {});
  const render = async () => {
    const [agencies, sites, staff] = await Promise.all([
      api.get<AgencyRow[]>('/api/admin/agencies'),
      api.get<SiteRow[]>('/api/admin/sites'),
      api.get<StaffView[]>('/api/admin/staff'),
    ]);
    const agencyName = (id: string | null) => agencies.find((a) => a.id === id)?.name ?? '—';
    // An officer's topics; the agencies an interpreter serves (all, when none are named).
    const abilities = (s: StaffView) => {
      if (s.role === 'officer') return s.skills.length ? s.skills.join(', ') : '—';
      if (s.role === 'interpreter') return s.serves.length ? s.serves.map(agencyName).join(', ') : t('abilities.everyAgency');
      return '—';
    };

    const agencyId = h('input', { type: 'text', name: 'id', required: true, pattern: '[a-z0-9-]+' });
    const agencyTitle = h('input', { type: 'text', name: 'name', required: true });
    const hours = h('input', { type: 'text', name: 'hours', required: true, value: 'mon-fri 09:00-16:00' });
    const languages = h('input', { type: 'text', name: 'languages', required: true, value: 'sv,en' });
    const siteId = h('input', { type: 'text', name: 'id', required: true, pattern: '[a-z0-9-]+' });
    const siteName = h('input', { type: 'text', name: 'name', required: true });
    const region = h('input', { type: 'text', name: 'region', required: true });
    const username = h('input', { type: 'text', name: 'username', required: true, autocomplete: 'off' });
    const displayName = h('input', { type: 'text', name: 'displayName', required: true });
    const password = h('input', { type: 'password', name: 'password', required: true, minlength: 12, autocomplete: 'new-password' });
    const role = select('role', (['officer', 'interpreter', 'admin'] as Role[]).map((r) => [r, t(`role.${r}` as MessageKey)]));
    const agency = select('agency', [['', '—'], ...agencies.map((a): [string, string] => [a.id, a.name])]);
    const staffRegion = h('input', { type: 'text', name: 'region' });
    const staffLanguages = h('input', { type: 'text', name: 'languages', value: 'sv' });

    replace(element,
      h('h1', {}, t('directory.title')),
      h('section', { 'aria-labelledby': 'agencies-title' },
        h('h2', { id: 'agencies-title' }, t('directory.agencies', { count: agencies.length })),
        h('table', {},
          h('caption', { class: 'visually-hidden' }, t('directory.agencies', { count: agencies.length })),
          h('thead', {}, h('tr', {}, (['directory.id', 'directory.name', 'directory.hours', 'directory.queues'] as MessageKey[]).map((k) => h('th', { scope: 'col' }, t(k))))),
          h('tbody', {}, agencies.map((a) => h('tr', {}, h('td', {}, a.id), h('th', { scope: 'row' }, a.name), h('td', {}, a.hours), h('td', {}, a.languages.map(languageName).join(', ')))))),
        formWith(t('directory.saveAgency'), t('directory.save'), [
          field(t('directory.id'), agencyId, t('directory.idHint')),
          field(t('directory.name'), agencyTitle),
          field(t('directory.hours'), hours, t('directory.hoursHint')),
          field(t('directory.languages'), languages, t('directory.languagesHint')),
        ], async () => {
          await api.post('/api/admin/agencies', { id: agencyId.value.trim(), name: agencyTitle.value.trim(), hours: hours.value.trim(), languages: list(languages.value) } satisfies AgencyRow);
          void render();
          return t('directory.saved');
        }),
      ),
      h('section', { 'aria-labelledby': 'sites-title' },
        h('h2', { id: 'sites-title' }, t('directory.sites', { count: sites.length })),
        h('table', {},
          h('caption', { class: 'visually-hidden' }, t('directory.sites', { count: sites.length })),
          h('thead', {}, h('tr', {}, (['directory.id', 'directory.name', 'directory.region'] as MessageKey[]).map((k) => h('th', { scope: 'col' }, t(k))))),
          h('tbody', {}, sites.map((s) => h('tr', {}, h('td', {}, s.id), h('th', { scope: 'row' }, s.name), h('td', {}, s.region))))),
        formWith(t('directory.saveSite'), t('directory.save'), [
          field(t('directory.id'), siteId, t('directory.idHint')),
          field(t('directory.name'), siteName),
          field(t('directory.region'), region),
        ], async () => {
          await api.post('/api/admin/sites', { id: siteId.value.trim(), name: siteName.value.trim(), region: region.value.trim() } satisfies SiteRow);
          void render();
          return t('directory.saved');
        }),
      ),
      h('section', { 'aria-labelledby': 'staff-title' },
        h('h2', { id: 'staff-title' }, t('directory.staff', { count: staff.length })),
        h('table', {},
          h('caption', { class: 'visually-hidden' }, t('directory.staff', { count: staff.length })),
          h('thead', {}, h('tr', {}, (['directory.username', 'directory.name', 'directory.role', 'directory.agency', 'directory.region', 'directory.languages', 'directory.abilities', 'directory.state'] as MessageKey[]).map((k) => h('th', { scope: 'col' }, t(k))))),
          h('tbody', {}, staff.map((s) => h('tr', {},
            h('td', {}, s.username), h('th', { scope: 'row' }, s.displayName), h('td', {}, t(`role.${s.role}` as MessageKey)),
            h('td', {}, agencyName(s.agency)), h('td', {}, s.region ?? '—'), h('td', {}, s.languages.map(languageName).join(', ')),
            h('td', {}, abilities(s)),
            h('td', {}, s.disabled ? t('directory.disabled') : t('directory.active')))))),
        formWith(t('directory.addPerson'), t('directory.add'), [
          field(t('directory.username'), username),
          field(t('directory.name'), displayName),
          field(t('directory.password'), password, t('directory.passwordHint')),
          field(t('directory.role'), role),
          field(t('directory.agency'), agency, t('directory.agencyHint')),
          field(t('directory.region'), staffRegion, t('directory.regionHint')),
          field(t('directory.languages'), staffLanguages, t('directory.languagesHint')),
        ], async () => {
          const person: NewStaff = {
            username: username.value.trim(),
            displayName: displayName.value.trim(),
            password: password.value,
            role: role.value as Role,
            agency: agency.value || null,
            region: staffRegion.value.trim() || null,
            languages: list(staffLanguages.value),
            skills: [],
          };
          await api.post('/api/admin/staff', person);
          void render();
          return t('directory.added', { name: person.displayName });
        }),
        abilitiesForm(staff, agencies, () => void render()),
      ),
    );
  };
  await render();
  return { element };
}
