// What the citizen has sent, and the viewer for it. Each document is marked with the visit
// it came from (site, time, the visit's short reference), so pages from two citizens are
// never mixed up. Pages are checked (SHA-256) before they are shown; they stay in this tab's
// memory only, until the officer downloads them or logs out.
import { h, replace, announce } from '../dom';
import { t, plural, formatTime } from '../i18n';
import type { ReceivedPage } from './documents';
import { documentPdf } from './pdf';

export interface ReceivedDocument {
  key: string;
  visit: string;
  siteName: string;
  startedAt: number;
  expected: number;
  pages: ReceivedPage[];
  state: 'arriving' | 'complete' | 'failed';
  failure: string | null;
}

const ZOOMS = [50, 75, 100, 150, 200, 300, 400];

export class DocumentsView {
  readonly element = h('section', { class: 'panel documents', 'aria-labelledby': 'documents-title' });
  private readonly documents: ReceivedDocument[] = [];
  private selected: ReceivedDocument | null = null;
  private pageIndex = 0;
  private zoom = 100;
  private rotation = 0;
  private urls = new Map<Blob, string>();

  constructor() {
    this.render();
  }

  start(visit: string, siteName: string, document: number, expected: number): void {
    const received: ReceivedDocument = {
      key: `${visit}/${document}`,
      visit,
      siteName,
      startedAt: Date.now(),
      expected,
      pages: [],
      state: 'arriving',
      failure: null,
    };
    this.documents.unshift(received);
    this.render();
  }

  page(visit: string, page: ReceivedPage): void {
    const document = this.find(visit, page.document);
    if (!document) return;
    document.pages.push(page);
    if (!this.selected) this.open(document);
    this.render();
  }

  complete(visit: string, document: number): void {
    const received = this.find(visit, document);
    if (!received) return;
    received.state = 'complete';
    announce(plural(received.pages.length, 'documents.arrivedOne', 'documents.arrived'));
    this.open(received);
  }

  failed(visit: string, document: number, reason: string): void {
    const received = this.find(visit, document);
    if (received) {
      received.state = 'failed';
      received.failure = reason;
    }
    announce(t('documents.failed'));
    this.render();
  }

  /** Forgets every page (logging out). */
  clear(): void {
    for (const url of this.urls.values()) URL.revokeObjectURL(url);
    this.urls.clear();
    this.documents.length = 0;
    this.selected = null;
    this.render();
  }

  private find(visit: string, document: number): ReceivedDocument | undefined {
    return this.documents.find((d) => d.key === `${visit}/${document}`);
  }

  private url(blob: Blob): string {
    let url = this.urls.get(blob);
    if (!url) {
      url = URL.createObjectURL(blob);
      this.urls.set(blob, url);
    }
    return url;
  }

  private open(document: ReceivedDocument): void {
    this.selected = document;
    this.pageIndex = 0;
    this.zoom = 100;
    this.rotation = 0;
    this.render();
  }

  private label(document: ReceivedDocument): string {
    return t('documents.from', { site: document.siteName, time: formatTime(document.startedAt), visit: document.visit.slice(0, 8) });
  }

  private render(): void {
    const list = this.documents.length === 0
      ? h('p', { class: 'muted' }, t('documents.none'))
      : h('ul', { class: 'document-list' }, this.documents.map((d) => h('li', {},
          h('button', {
            class: d === this.selected ? 'link selected' : 'link',
            'aria-current': d === this.selected ? 'true' : null,
            onclick: () => this.open(d),
          }, this.label(d)),
          ' ',
          h('span', { class: `tag ${d.state}` },
            d.state === 'arriving' ? t('documents.arriving', { done: d.pages.length, total: d.expected })
              : d.state === 'complete' ? plural(d.pages.length, 'documents.pagesOne', 'documents.pages')
                : t('documents.failedTag', { reason: d.failure ?? '' })),
        )));
    replace(this.element, h('h2', { id: 'documents-title' }, t('documents.title')), list, this.viewer());
  }

  private viewer(): HTMLElement | null {
    const document = this.selected;
    const page = document?.pages[this.pageIndex];
    if (!document || !page) return null;
    const total = document.pages.length;
    const image = h('img', {
      src: this.url(page.blob),
      alt: t('documents.pageAlt', { page: this.pageIndex + 1, total, source: this.label(document) }),
    });
    const sheet = h('div', { class: `sheet turn-${this.rotation}` }, image);
    // Through the CSSOM: the page's Content-Security-Policy refuses style attributes.
    sheet.style.setProperty('--zoom', String(this.zoom / 100));
    sheet.style.setProperty('--aspect', String(page.manifest.widthPx / page.manifest.heightPx));
    // The viewer is drawn anew on every change; the button pressed keeps the focus (or the
    // page does, when that button is now disabled), so a keyboard user is not sent back to
    // the top of the page.
    const act = (action: string, change: () => void) => () => {
      change();
      this.render();
      const again = this.element.querySelector<HTMLButtonElement>(`[data-action="${action}"]`);
      (again && !again.disabled ? again : this.element.querySelector<HTMLElement>('.page-frame'))?.focus();
    };
    const step = (delta: number) => act(delta < 0 ? 'previous' : 'next', () => {
      this.pageIndex = Math.min(total - 1, Math.max(0, this.pageIndex + delta));
    });
    const zoom = (delta: number) => act(delta < 0 ? 'zoomOut' : 'zoomIn', () => {
      const index = ZOOMS.indexOf(this.zoom) + delta;
      this.zoom = ZOOMS[Math.min(ZOOMS.length - 1, Math.max(0, index))];
    });
    const rotate = act('rotate', () => {
      this.rotation = (this.rotation + 90) % 360;
    });
    const name = `nara-${document.visit.slice(0, 8)}-${document.key.split('/')[1]}`;
    const downloadPdf = async () => {
      const blob = await documentPdf(document.pages, this.label(document));
      const link = h('a', { href: URL.createObjectURL(blob), download: `${name}.pdf` });
      link.click();
      window.setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    };
    return h('div', { class: 'viewer', role: 'region', 'aria-label': t('documents.viewer') },
      h('p', { class: 'source' }, h('strong', {}, this.label(document))),
      h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': t('documents.tools') },
        h('button', { 'data-action': 'previous', onclick: step(-1), disabled: this.pageIndex === 0 }, t('documents.previous')),
        h('span', { 'aria-live': 'polite' }, t('documents.pageOf', { page: this.pageIndex + 1, total })),
        h('button', { 'data-action': 'next', onclick: step(1), disabled: this.pageIndex >= total - 1 }, t('documents.next')),
        h('button', { 'data-action': 'zoomOut', onclick: zoom(-1), 'aria-label': t('documents.zoomOut') }, '−'),
        h('span', {}, `${this.zoom} %`),
        h('button', { 'data-action': 'zoomIn', onclick: zoom(1), 'aria-label': t('documents.zoomIn') }, '+'),
        h('button', { 'data-action': 'rotate', onclick: rotate }, t('documents.rotate')),
        h('a', { class: 'button', href: this.url(page.blob), download: `${name}-${this.pageIndex + 1}.jpg` }, t('documents.downloadImage')),
        h('button', { disabled: document.state !== 'complete', onclick: () => void downloadPdf() }, t('documents.downloadPdf')),
      ),
      // Focusable so that a keyboard can scroll a zoomed page.
      h('div', { class: 'page-frame', tabindex: 0, role: 'group', 'aria-label': t('documents.pageOf', { page: this.pageIndex + 1, total }) }, sheet),
    );
  }
}
