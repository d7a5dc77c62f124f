// Statistics for evaluation: visits, waits, outcomes, durations, documents and survey scores,
// grouped by site, kiosk, agency, language, day or month, as a chart and a table, and the
// same rows as CSV. The chart repeats its numbers as text, so nothing depends on colour.
import { h, replace, field, select, clock } from '../dom';
import { t, formatNumber, languageName, type MessageKey } from '../i18n';
import { api, ApiFailure } from '../api/client';
import type { AgencyRow, GroupBy, KioskView, SiteRow, StatsRow } from '../api/rest';
import type { AdminView } from './page';

const DAY_MS = 86_400_000;
const OUTCOMES = ['served', 'endedByCitizen', 'transferred', 'abandoned', 'failed'] as const;
const SVG = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** A horizontal bar per group, split by outcome, each part labelled with its count. */
function outcomeChart(rows: StatsRow[], name: (group: string) => string): SVGSVGElement {
  const labelWidth = 170;
  const barWidth = 560;
  const rowHeight = 30;
  const height = rows.length * rowHeight + 62;
  const most = Math.max(1, ...rows.map((r) => r.visits));
  const chart = svg('svg', { viewBox: `0 0 ${labelWidth + barWidth + 60} ${height}`, role: 'img', class: 'chart', width: '100%' });
  chart.append(svg('title', {}, t('stats.chartTitle')));
  rows.forEach((row, index) => {
    const y = index * rowHeight;
    chart.append(svg('text', { x: labelWidth - 8, y: y + 19, 'text-anchor': 'end', class: 'label' }, name(row.group)));
    let x = labelWidth;
    for (const outcome of OUTCOMES) {
      const count = row[outcome];
      if (count === 0) continue;
      const width = (count / most) * barWidth;
      const part = svg('rect', { x, y: y + 4, width, height: rowHeight - 8, class: `bar ${outcome}` });
      part.append(svg('title', {}, `${t(`outcome.${outcome}` as MessageKey)}: ${count}`));
      chart.append(part);
      if (width > 22) chart.append(svg('text', { x: x + width / 2, y: y + 19, 'text-anchor': 'middle', class: 'count' }, String(count)));
      x += width;
    }
    chart.append(svg('text', { x: x + 6, y: y + 19, class: 'label' }, String(row.visits)));
  });
  const legendY = rows.length * rowHeight + 22;
  // Three to a line: the longest labels ("avslutat av besökaren") need the room.
  OUTCOMES.forEach((outcome, i) => {
    const x = labelWidth + (i % 3) * 200;
    const y = legendY + Math.floor(i / 3) * 22;
    chart.append(svg('rect', { x, y: y - 11, width: 14, height: 14, class: `bar ${outcome}` }));
    chart.append(svg('text', { x: x + 20, y, class: 'label' }, t(`outcome.${outcome}` as MessageKey)));
  });
  return chart;
}

const dateValue = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export async function statisticsView(): Promise<AdminView> {
  const [agencies, sites, kiosks] = await Promise.all([
    api.get<AgencyRow[]>('/api/admin/agencies'),
    api.get<SiteRow[]>('/api/admin/sites'),
    api.get<KioskView[]>('/api/admin/kiosks'),
  ]);
  // Groups come as ids; people read names.
  const name = (group: string): string => {
    switch (groupBy.value as GroupBy) {
      case 'site': return sites.find((s) => s.id === group)?.name ?? group;
      case 'agency': return agencies.find((a) => a.id === group)?.name ?? group;
      case 'kiosk': {
        const kiosk = kiosks.find((k) => k.id === group);
        return kiosk ? `${kiosk.name} (${kiosk.siteName})` : group;
      }
      case 'language': return languageName(group);
      default: return group;
    }
  };
  const groupBy = select('groupBy', (['site', 'kiosk', 'agency', 'language', 'day', 'month'] as GroupBy[]).map((g) => [g, t(`stats.by.${g}` as MessageKey)]), 'site');
  const agency = select('agency', [['', t('stats.allAgencies')], ...agencies.map((a): [string, string] => [a.id, a.name])]);
  const from = h('input', { type: 'date', name: 'from', value: dateValue(Date.now() - 30 * DAY_MS) });
  const to = h('input', { type: 'date', name: 'to', value: dateValue(Date.now()) });
  const output = h('div', { 'aria-live': 'polite' });
  const csv = h('a', { class: 'button', download: 'nara-statistik.csv', href: '#' }, t('stats.csv'));

  const query = () => {
    const params = new URLSearchParams({ groupBy: groupBy.value });
    const start = Date.parse(from.value);
    const end = Date.parse(to.value);
    if (!Number.isNaN(start)) params.set('from', String(start));
    if (!Number.isNaN(end)) params.set('to', String(end + DAY_MS));
    if (agency.value) params.set('agency', agency.value);
    return params.toString();
  };

  const load = async () => {
    csv.href = `/api/statistics.csv?${query()}`;
    csv.setAttribute('download', `nara-statistik-${groupBy.value}-${from.value}-${to.value}.csv`);
    try {
      const rows = await api.get<StatsRow[]>(`/api/statistics?${query()}`);
      const total = rows.reduce((n, r) => n + r.visits, 0);
      const seconds = (value: number | null) => (value === null ? '—' : clock(value));
      const columns: [MessageKey, (r: StatsRow) => string][] = [
        ['stats.visits', (r) => String(r.visits)],
        ['outcome.served', (r) => String(r.served)],
        ['outcome.endedByCitizen', (r) => String(r.endedByCitizen)],
        ['outcome.transferred', (r) => String(r.transferred)],
        ['outcome.abandoned', (r) => String(r.abandoned)],
        ['outcome.failed', (r) => String(r.failed)],
        ['stats.waitMedian', (r) => seconds(r.waitMedianSeconds)],
        ['stats.waitP90', (r) => seconds(r.waitP90Seconds)],
        ['stats.durationMedian', (r) => seconds(r.durationMedianSeconds)],
        ['stats.documents', (r) => String(r.documents)],
        ['stats.survey', (r) => (r.surveyAverage === null ? '—' : `${formatNumber(r.surveyAverage, 1)} (${r.surveyAnswers})`)],
      ];
      replace(output,
        h('p', {}, t('stats.total', { visits: total, groups: rows.length })),
        rows.length === 0 ? h('p', { class: 'muted' }, t('stats.empty')) : [
          h('figure', {}, outcomeChart(rows, name), h('figcaption', {}, t('stats.chartCaption'))),
          h('table', { class: 'statistics' },
            h('caption', {}, t('stats.tableCaption', { by: t(`stats.by.${groupBy.value}` as MessageKey).toLowerCase() })),
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t(`stats.by.${groupBy.value}` as MessageKey)), columns.map(([key]) => h('th', { scope: 'col' }, t(key))))),
            h('tbody', {}, rows.map((r) => h('tr', {}, h('th', { scope: 'row', 'data-group': r.group }, name(r.group)), columns.map(([, value]) => h('td', {}, value(r)))))),
          ),
        ],
      );
    } catch (failure) {
      replace(output, h('p', { class: 'error', role: 'alert' }, failure instanceof ApiFailure ? failure.message : String(failure)));
    }
  };
  const form = h('form', { class: 'filters panel' },
    field(t('stats.groupBy'), groupBy), field(t('stats.agency'), agency), field(t('stats.from'), from), field(t('stats.to'), to),
    h('button', { type: 'submit', class: 'primary' }, t('stats.show')), csv);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void load();
  });
  await load();
  return { element: h('div', {}, h('h1', {}, t('stats.title')), h('p', {}, t('stats.intro')), form, output) };
}
