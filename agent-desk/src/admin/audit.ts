// Who did what to which kiosk, visit or account: the broker's audit log, newest first.
import { h } from '../dom';
import { t, formatDateTime } from '../i18n';
import { api } from '../api/client';
import type { AuditRow } from '../api/rest';
import type { AdminView } from './page';

export async function auditView(): Promise<AdminView> {
  const rows = await api.get<AuditRow[]>('/api/admin/audit');
  return {
    element: h('div', {},
      h('h1', {}, t('audit.title')),
      h('table', {},
        h('caption', {}, t('audit.caption', { count: rows.length })),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('audit.at')), h('th', { scope: 'col' }, t('audit.actor')),
          h('th', { scope: 'col' }, t('audit.action')), h('th', { scope: 'col' }, t('audit.target')), h('th', { scope: 'col' }, t('audit.detail')))),
        h('tbody', {}, rows.map((r) => h('tr', {},
          h('td', {}, formatDateTime(r.at)), h('td', {}, r.actor), h('td', {}, r.action), h('td', {}, r.target), h('td', {}, r.detail)))),
      ),
    ),
  };
}
