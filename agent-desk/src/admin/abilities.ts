// What someone at a desk can take: the languages they speak or interpret, an officer's
// topics (skills: visits about a topic go to those with it first), and the agencies an
// interpreter serves (interpreters are a pool of their own; none ticked: every agency).
// Saved, it counts at once, for someone logged in too.
import { h, replace, field, select, announce } from '../dom';
import { t } from '../i18n';
import { api, ApiFailure } from '../api/client';
import type { AgencyRow, StaffAbilities, StaffView } from '../api/rest';

const list = (value: string) => value.split(',').map((s) => s.trim()).filter(Boolean);

export function abilitiesForm(staff: StaffView[], agencies: AgencyRow[], saved: () => void): HTMLElement {
  const people = staff.filter((s) => s.role !== 'admin');
  const agencyName = (id: string | null) => agencies.find((a) => a.id === id)?.name ?? '';
  const person = select('person', people.map((s): [string, string] => [
    s.id,
    s.role === 'officer' ? `${s.displayName} (${agencyName(s.agency)})` : `${s.displayName} (${t('role.interpreter')})`,
  ]));
  const languages = h('input', { type: 'text', name: 'languages', required: true });
  const skills = h('input', { type: 'text', name: 'skills' });
  const serves = agencies.map((a) => h('input', { type: 'checkbox', name: 'serves', value: a.id, id: `serves-${a.id}` }));
  const servesGroup = h('fieldset', { class: 'serves' },
    h('legend', {}, t('abilities.serves')),
    h('small', { class: 'hint' }, t('abilities.servesHint')),
    agencies.map((a, n) => h('span', { class: 'field checkbox' }, serves[n], h('label', { for: `serves-${a.id}` }, a.name))));
  const skillsField = field(t('abilities.skills'), skills, t('abilities.skillsHint'));
  const result = h('div', { 'aria-live': 'polite' });

  // The form shows what the chosen person has now, and only what their role can have.
  const show = () => {
    const chosen = people.find((s) => s.id === person.value);
    if (!chosen) return;
    languages.value = chosen.languages.join(',');
    skills.value = chosen.skills.join(',');
    for (const box of serves) box.checked = chosen.serves.includes(box.value);
    skillsField.hidden = chosen.role !== 'officer';
    servesGroup.hidden = chosen.role !== 'interpreter';
  };
  person.addEventListener('change', show);
  show();

  const form = h('form', { class: 'panel' },
    h('fieldset', {},
      h('legend', {}, t('abilities.title')),
      field(t('abilities.person'), person),
      field(t('directory.languages'), languages, t('directory.languagesHint')),
      skillsField,
      servesGroup,
      h('button', { type: 'submit' }, t('directory.save'))),
    result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const chosen = people.find((s) => s.id === person.value);
    if (!chosen) return;
    const change: StaffAbilities = {
      languages: list(languages.value),
      skills: chosen.role === 'officer' ? list(skills.value) : [],
      serves: chosen.role === 'interpreter' ? serves.filter((box) => box.checked).map((box) => box.value) : [],
    };
    try {
      await api.put<StaffView>(`/api/admin/staff/${encodeURIComponent(chosen.id)}/abilities`, change);
      const done = t('abilities.saved', { name: chosen.displayName });
      replace(result, h('p', { class: 'success' }, done));
      announce(done);
      saved();
    } catch (failure) {
      replace(result, h('p', { class: 'error', role: 'alert' }, failure instanceof ApiFailure ? failure.message : String(failure)));
    }
  });
  return people.length ? form : h('p', {}, t('abilities.nobody'));
}
