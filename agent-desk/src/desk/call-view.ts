// The call as the officer sees it: the citizen large, themselves small, anyone else in the
// call beside; mute, camera, volume, the connection's quality in words and colour; the chat;
// and what the officer can do: ask for a document, invite, transfer, end.
import { h, replace, announce, field, select } from '../dom';
import { t, plural, languageName, type MessageKey } from '../i18n';
import type { AgencyRow } from '../api/rest';
import type { InviteTarget, Outcome, StaffCard, TransferMode } from '../protocol/protocol';
import type { PeerKey, QualityReport } from './call';

export interface CallActions {
  mute(muted: boolean): void;
  cameraOff(off: boolean): void;
  chat(text: string): void;
  askDocument(): void;
  invite(target: InviteTarget): void;
  transfer(agency: string, language: string, mode: TransferMode): void;
  end(outcome: Outcome): void;
  leave(): void;
}

export interface CallInfo {
  siteName: string;
  language: string;
  isOfficer: boolean;
  ownAgency: string | null;
  agencies: AgencyRow[];
  interpreterLanguages: string[];
}

export class CallView {
  readonly element: HTMLElement;
  private readonly main = h('video', { class: 'remote-main', autoplay: true, playsinline: true, 'aria-label': t('call.citizenVideo') });
  private readonly self = h('video', { class: 'self-view', autoplay: true, playsinline: true, muted: true, 'aria-label': t('call.selfVideo') });
  private readonly others = h('div', { class: 'others' });
  private readonly quality = h('p', { class: 'quality unknown', role: 'status' }, t('quality.unknown'));
  private readonly participants = h('ul', { class: 'participants' });
  private readonly chatLog = h('ol', { class: 'chat-log', 'aria-live': 'polite', 'aria-label': t('chat.log') });
  private readonly scanner = h('p', { class: 'scanner-state', role: 'status' });
  private readonly volume = h('input', { type: 'range', min: 0, max: 100, value: 100, id: 'call-volume' });
  private readonly elements = new Map<PeerKey, HTMLMediaElement>();
  private readonly actionsSlot = h('div', {});
  private muted = false;
  private cameraOff = false;
  private owner: boolean;

  constructor(private readonly info: CallInfo, private readonly actions: CallActions, owner: boolean) {
    this.owner = owner;
    this.main.muted = false;
    this.volume.addEventListener('input', () => {
      for (const element of [this.main, ...this.elements.values()]) element.volume = Number(this.volume.value) / 100;
    });
    const muteButton = h('button', { 'aria-pressed': 'false' }, t('call.mute'));
    muteButton.addEventListener('click', () => {
      this.muted = !this.muted;
      muteButton.setAttribute('aria-pressed', String(this.muted));
      muteButton.textContent = this.muted ? t('call.unmute') : t('call.mute');
      actions.mute(this.muted);
      announce(this.muted ? t('call.mutedNow') : t('call.unmutedNow'));
    });
    const cameraButton = h('button', { 'aria-pressed': 'false' }, t('call.cameraOff'));
    cameraButton.addEventListener('click', () => {
      this.cameraOff = !this.cameraOff;
      cameraButton.setAttribute('aria-pressed', String(this.cameraOff));
      cameraButton.textContent = this.cameraOff ? t('call.cameraOn') : t('call.cameraOff');
      actions.cameraOff(this.cameraOff);
    });
    this.element = h('section', { class: 'panel call', 'aria-labelledby': 'call-title' },
      h('h2', { id: 'call-title' }, t('call.title', { site: info.siteName, language: languageName(info.language) })),
      h('div', { class: 'stage' }, this.main, this.self, this.others),
      h('div', { class: 'controls', role: 'toolbar', 'aria-label': t('call.controls') },
        muteButton,
        cameraButton,
        h('label', { for: 'call-volume' }, t('call.volume')),
        this.volume,
        this.quality,
      ),
      this.participants,
      this.scanner,
      h('div', { class: 'call-columns' }, this.chatPanel(), this.actionsSlot),
    );
    replace(this.actionsSlot, this.actionsPanel());
  }

  /**
   * Whether this desk leads the call: the one who answered, or took it over in a transfer,
   * ends it and may transfer it; everyone else in the call may leave it.
   */
  setOwner(owner: boolean): void {
    if (owner === this.owner) return;
    this.owner = owner;
    replace(this.actionsSlot, this.actionsPanel());
  }

  setLocal(stream: MediaStream): void {
    this.self.srcObject = stream;
  }

  stream(key: PeerKey, stream: MediaStream, label: string): void {
    if (key === 'kiosk') {
      this.main.srcObject = stream;
      void this.main.play().catch(() => undefined);
      return;
    }
    let element = this.elements.get(key);
    if (!element) {
      element = h('video', { autoplay: true, playsinline: true, 'aria-label': label, class: 'remote-other' });
      this.elements.set(key, element);
      this.others.append(h('figure', { 'data-peer': key }, element, h('figcaption', {}, label)));
    }
    element.srcObject = stream;
    void element.play().catch(() => undefined);
  }

  removePeer(key: PeerKey): void {
    this.elements.get(key)?.closest('figure')?.remove();
    this.elements.delete(key);
  }

  setParticipants(cards: StaffCard[]): void {
    replace(this.participants, cards.map((card) => h('li', {}, card.displayName, ' — ', roleText(card))));
  }

  showQuality(report: QualityReport): void {
    const key: MessageKey = `quality.${report.quality}`;
    const details = [
      report.roundTripMs !== null ? t('quality.rtt', { ms: report.roundTripMs }) : null,
      report.lossPercent !== null ? t('quality.loss', { percent: report.lossPercent.toFixed(1) }) : null,
      report.framesPerSecond !== null ? t('quality.fps', { fps: Math.round(report.framesPerSecond) }) : null,
      report.relayed ? t('quality.relayed') : null,
    ].filter(Boolean).join(', ');
    this.quality.className = `quality ${report.quality}`;
    this.quality.textContent = details ? `${t(key)} (${details})` : t(key);
  }

  showScanner(scanning: boolean, pages: number, problem: string | null): void {
    this.scanner.textContent = problem
      ? t('scanner.problem', { problem })
      : scanning ? t('scanner.scanning') : pages > 0 ? plural(pages, 'scanner.pagesWaitingOne', 'scanner.pagesWaiting') : '';
    if (problem) announce(t('scanner.problem', { problem }));
  }

  chatLine(who: 'me' | 'citizen', text: string, id?: number): void {
    const item = h('li', { class: who, 'data-chat-id': id ?? null },
      h('span', { class: 'who' }, who === 'me' ? t('chat.me') : t('chat.citizen')), ' ', text,
      who === 'me' ? h('span', { class: 'seen' }) : null);
    this.chatLog.append(item);
    item.scrollIntoView({ block: 'nearest' });
  }

  chatSeen(id: number): void {
    const seen = this.chatLog.querySelector(`li[data-chat-id="${id}"] .seen`);
    if (seen) seen.textContent = ` ✓ ${t('chat.seen')}`;
  }

  close(): void {
    for (const video of [this.main, this.self, ...this.elements.values()]) video.srcObject = null;
  }

  private chatPanel(): HTMLElement {
    const input = h('input', { type: 'text', name: 'chat', maxlength: 2000, autocomplete: 'off' });
    const form = h('form', { class: 'chat-form' }, field(t('chat.label'), input), h('button', { type: 'submit' }, t('chat.send')));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      this.actions.chat(text);
      input.value = '';
    });
    return h('div', { class: 'chat', role: 'region', 'aria-label': t('chat.title') }, h('h3', {}, t('chat.title')), this.chatLog, form);
  }

  private actionsPanel(): HTMLElement {
    const { isOfficer, agencies, ownAgency } = this.info;
    const leave = h('button', { class: 'danger', onclick: () => this.actions.leave() }, t('call.leave'));
    if (!isOfficer || !this.owner) {
      return h('div', { class: 'actions' },
        isOfficer ? h('p', {}, t('call.notOwner')) : null,
        isOfficer ? h('button', { class: 'primary', onclick: () => this.actions.askDocument() }, t('call.askDocument')) : null,
        leave);
    }
    const otherAgencies = agencies.filter((a) => a.id !== ownAgency);
    const interpreterLanguage = select('interpreterLanguage', this.info.interpreterLanguages.map((l) => [l, languageName(l)]), this.info.language);
    const colleague = select('colleagueAgency', otherAgencies.map((a) => [a.id, a.name]));
    const transferAgency = select('transferAgency', otherAgencies.map((a) => [a.id, a.name]));
    const transferMode = select('transferMode', [['warm', t('transfer.warm')], ['cold', t('transfer.cold')]]);
    const outcome = select('outcome', (['served', 'failed'] as Outcome[]).map((o) => [o, t(`outcome.${o}`)]));
    const form = (title: string, button: string, submit: () => void, ...fields: HTMLElement[]) => {
      const element = h('form', { class: 'action' }, h('fieldset', {}, h('legend', {}, title), ...fields, h('button', { type: 'submit' }, button)));
      element.addEventListener('submit', (event) => {
        event.preventDefault();
        submit();
      });
      return element;
    };
    return h('div', { class: 'actions' },
      h('button', { class: 'primary', onclick: () => this.actions.askDocument() }, t('call.askDocument')),
      form(t('invite.interpreterTitle'), t('invite.interpreter'), () => this.actions.invite({ kind: 'interpreter', language: interpreterLanguage.value }),
        field(t('invite.language'), interpreterLanguage)),
      form(t('invite.colleagueTitle'), t('invite.colleague'), () => this.actions.invite({ kind: 'officer', agency: colleague.value }),
        field(t('invite.agency'), colleague)),
      form(t('transfer.title'), t('transfer.button'), () => this.actions.transfer(transferAgency.value, this.info.language, transferMode.value as TransferMode),
        field(t('transfer.agency'), transferAgency), field(t('transfer.mode'), transferMode, t('transfer.modeHint'))),
      form(t('end.title'), t('end.button'), () => this.actions.end(outcome.value as Outcome), field(t('end.outcome'), outcome)),
    );
  }
}

function roleText(card: StaffCard): string {
  if (card.role === 'interpreter') return t('role.interpreter');
  return card.agencyName ? t('role.officerOf', { agency: card.agencyName }) : t('role.officer');
}
