// The agency's queues as the officer sees them: per language, who waits (language, how long,
// booked or drop-in, which site) and how many colleagues are free. Never who the citizen is:
// the broker does not know before they are answered, and neither does this page.
import { h, replace, clock } from '../dom';
import { t, languageName } from '../i18n';
import type { QueueView } from '../protocol/protocol';

export class QueuesView {
  readonly element = h('section', { class: 'panel queues', 'aria-labelledby': 'queues-title' });
  private queues: QueueView[] = [];
  private receivedAt = Date.now();

  constructor() {
    // Waiting times tick on between updates from the broker.
    window.setInterval(() => this.render(), 1000);
    this.render();
  }

  update(queues: QueueView[]): void {
    this.queues = queues;
    this.receivedAt = Date.now();
    this.render();
  }

  private render(): void {
    const elapsed = (Date.now() - this.receivedAt) / 1000;
    const waiting = this.queues.reduce((n, q) => n + q.waiting.length, 0);
    const rows = this.queues.flatMap((queue) =>
      queue.waiting.map((visit) =>
        h('tr', {},
          h('td', {}, languageName(visit.language)),
          h('td', {}, clock(visit.waitedSeconds + elapsed)),
          h('td', {}, visit.booked ? h('span', { class: 'tag booked' }, t('queues.booked')) : t('queues.dropIn')),
          h('td', {}, visit.siteName),
        ),
      ),
    );
    const summary = this.queues.map((q) =>
      h('li', {}, t('queues.summary', { language: languageName(q.language), waiting: q.waiting.length, available: q.officersAvailable, busy: q.officersBusy })),
    );
    replace(this.element,
      h('h2', { id: 'queues-title' }, t('queues.title', { waiting })),
      rows.length === 0
        ? h('p', { class: 'muted' }, t('queues.empty'))
        : h('table', {},
            h('caption', { class: 'visually-hidden' }, t('queues.caption')),
            h('thead', {}, h('tr', {},
              h('th', { scope: 'col' }, t('queues.language')),
              h('th', { scope: 'col' }, t('queues.waited')),
              h('th', { scope: 'col' }, t('queues.kind')),
              h('th', { scope: 'col' }, t('queues.site')),
            )),
            h('tbody', {}, rows),
          ),
      summary.length > 0 ? h('ul', { class: 'queue-summary' }, summary) : null,
    );
  }
}
