// The desk of an officer or an interpreter: status, the agency's queues, an offer that rings,
// the call, documents and bookings. Messages from the broker arrive in order through
// `DeskSocket`; this file keeps what the desk knows and hands each part its update.
import { h, replace, announce } from '../dom';
import { t, languageName, lockLanguage } from '../i18n';
import { api } from '../api/client';
import type { AgencyRow, MeResponse } from '../api/rest';
import type { BrokerToDesk, CallId, IceServer, Me, OfferPurpose, StaffCard, StaffStatus, VisitId } from '../protocol/protocol';
import { CallMedia, type CallEvents } from './call';
import { CallView } from './call-view';
import { DocumentsView } from './documents-view';
import { QueuesView } from './queues';
import { Ringer } from './ring';
import { bookingForm } from './booking';
import { refusal } from './refusal';
import { DeskSocket, type LinkState } from './socket';
import { pageHeader } from '../layout';

interface CurrentCall {
  id: CallId;
  /** The broker names this desk's officer as responsible: they end or transfer it. */
  owner: boolean;
  visit: VisitId;
  siteName: string;
  participants: StaffCard[];
  media: CallMedia;
  view: CallView;
}

type Offer = Extract<BrokerToDesk, { type: 'offer' }>;

export async function deskPage(root: HTMLElement, account: MeResponse): Promise<void> {
  const agencies = await api.get<AgencyRow[]>('/api/admin/agencies').catch(() => [] as AgencyRow[]);
  const isOfficer = account.role === 'officer';
  const ringer = new Ringer();
  const queues = new QueuesView();
  const documents = new DocumentsView();
  const linkBanner = h('div', { class: 'banner', role: 'status', hidden: true });
  const notice = h('div', { class: 'notices', 'aria-live': 'assertive' });
  const statusGroup = h('div', { class: 'status-choice', role: 'group', 'aria-label': t('status.label') });
  const offerSlot = h('div', {});
  const callSlot = h('div', {});
  let me: Me | null = null;
  let status: StaffStatus = 'away';
  let iceServers: IceServer[] = [];
  let offer: Offer | null = null;
  /** Answered, waiting for the other half of an officer-and-interpreter pair. */
  let offerHeld = false;
  let call: CurrentCall | null = null;
  // The connection the kiosk makes to us while an offer rings; the answer makes it the call's.
  let ringing: CallMedia | null = null;
  // Until the broker has welcomed this desk, a status change would go nowhere.
  let linkOpen = false;

  const socket = new DeskSocket(handle, showLink);

  function say(text: string, kind: 'info' | 'error' = 'info'): void {
    const item = h('p', { class: `notice ${kind}` }, text, ' ',
      h('button', { class: 'link', 'aria-label': t('notice.dismiss'), onclick: () => item.remove() }, '×'));
    notice.prepend(item);
    while (notice.children.length > 4) notice.lastElementChild?.remove();
  }

  function showLink(state: LinkState, retryInSeconds?: number): void {
    if (state === 'loggedOut') {
      location.assign('/');
      return;
    }
    linkOpen = state === 'open';
    renderStatus();
    linkBanner.hidden = state === 'open';
    linkBanner.className = `banner ${state}`;
    linkBanner.textContent = state === 'connecting' ? t('link.connecting')
      : state === 'reconnecting'
        ? `${t('link.lost')} ${retryInSeconds ? t('link.retryIn', { seconds: retryInSeconds }) : t('link.retrying')}${call ? ` ${t('link.callContinues')}` : ''}`
        : '';
    if (state === 'open') announce(t('link.back'));
  }

  function renderStatus(): void {
    const choices: [StaffStatus & ('available' | 'away' | 'wrapUp'), string][] = [
      ['available', t('status.available')],
      ['wrapUp', t('status.wrapUp')],
      ['away', t('status.away')],
    ];
    const busy = status === 'inCall' || status === 'offered';
    replace(statusGroup, choices.map(([value, label]) =>
      h('button', {
        'aria-pressed': String(status === value),
        class: `status ${value}`,
        disabled: busy || !linkOpen,
        onclick: () => {
          Ringer.prepare();
          socket.send({ type: 'setStatus', status: value });
        },
      }, label)),
      busy ? h('span', { class: 'tag', role: 'status' }, t(`status.${status}`)) : null);
  }

  function purposeText(purpose: OfferPurpose, language: string): string {
    switch (purpose.kind) {
      case 'answer': return t('offer.answer', { language: languageName(language) });
      case 'answerWithInterpreter': return t('offer.answerWithInterpreter', { language: languageName(purpose.language) });
      case 'interpret': return t('offer.interpret', { language: languageName(purpose.language) });
      case 'join': return t('offer.join');
      case 'transferIn': return t(purpose.warm ? 'offer.transferWarm' : 'offer.transferCold', { agency: agencies.find((a) => a.id === purpose.fromAgency)?.name ?? purpose.fromAgency });
    }
  }

  function stopRinging(): void {
    ringing?.close();
    ringing = null;
  }

  function showOffer(next: Offer | null): void {
    offer = next;
    if (!next) {
      ringer.stop();
      replace(offerSlot);
      return;
    }
    stopRinging();
    const media = new CallMedia(next.call, iceServers, (m) => void socket.send(m), true);
    ringing = media;
    // The camera is started while it rings, so that the citizen sees us on the answer; and
    // those already in the call (an invitation) are connected to, as the kiosk connects to us.
    void media.localStream().then(async () => {
      for (const staff of next.inCall) if (!media.isClosed()) await media.offerTo(staff);
    }).catch((error: unknown) => {
      // A ring that ended meanwhile closed the connection under the offer.
      if (!media.isClosed()) say(t('call.deviceProblem', { problem: String(error) }), 'error');
    });
    const accept = () => {
      if (!offer) return;
      socket.send({ type: 'acceptOffer', offer: offer.offer });
    };
    const decline = () => {
      if (offer) socket.send({ type: 'declineOffer', offer: offer.offer });
    };
    const what = purposeText(next.purpose, next.language);
    offerHeld = false;
    const acceptButton = h('button', { class: 'primary big', onclick: accept, 'aria-keyshortcuts': 'Enter' }, t('offer.accept'));
    replace(offerSlot, h('section', { class: 'panel offer', role: 'alertdialog', 'aria-labelledby': 'offer-title', 'aria-describedby': 'offer-details' },
      h('h2', { id: 'offer-title' }, t('offer.title')),
      h('p', { id: 'offer-details' }, what, ' · ', next.siteName, ' · ', next.booked ? t('queues.booked') : t('queues.dropIn')),
      h('p', { class: 'muted' }, t('offer.keys', { seconds: next.ringSeconds })),
      h('div', { class: 'buttons' }, acceptButton, h('button', { onclick: decline }, t('offer.decline'))),
    ));
    acceptButton.focus();
    ringer.start(t('offer.title'), `${what} · ${next.siteName}`, accept);
  }

  /** We answered; the call starts when the other half of the pair (officer or interpreter)
   *  answers too. Nothing rings any more, and we can still back out. */
  function showHeld(current: Offer): void {
    offerHeld = true;
    ringer.stop();
    const waitingFor = current.purpose.kind === 'interpret' ? t('offer.heldForOfficer') : t('offer.heldForInterpreter');
    replace(offerSlot, h('section', { class: 'panel offer', 'aria-labelledby': 'offer-title' },
      h('h2', { id: 'offer-title' }, t('offer.heldTitle')),
      h('p', { role: 'status' }, waitingFor),
      h('p', {}, purposeText(current.purpose, current.language), ' · ', current.siteName),
      h('div', { class: 'buttons' }, h('button', { onclick: () => socket.send({ type: 'declineOffer', offer: current.offer }) }, t('offer.cancelHeld'))),
    ));
  }

  document.addEventListener('keydown', (event) => {
    if (!offer || offerHeld || event.defaultPrevented) return;
    const typing = event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement;
    if (event.key === 'Enter' && !typing && !(event.target instanceof HTMLButtonElement)) {
      event.preventDefault();
      socket.send({ type: 'acceptOffer', offer: offer.offer });
    }
  });

  function label(key: string): string {
    const card = call?.participants.find((p) => p.staff === key);
    return card ? `${card.displayName} (${card.role === 'interpreter' ? t('role.interpreter') : card.agencyName ?? ''})` : key;
  }

  async function startCall(message: Extract<BrokerToDesk, { type: 'callStarted' }>): Promise<void> {
    const myId = me?.card.staff;
    if (call && call.id === message.call) {
      // Back after a dropped socket or a broker restart: the media kept running; reach
      // whoever we lost.
      call.owner = message.owner === myId;
      call.view.setOwner(call.owner);
      call.participants = message.participants;
      call.view.setParticipants(message.participants);
      for (const p of message.participants) {
        if (p.staff !== myId && !call.media.hasPeer(p.staff)) await call.media.offerTo(p.staff);
      }
      return;
    }
    endCallView();
    // The broker says who is responsible for the call; nothing is guessed here.
    const owner = message.owner === myId;
    const current: CurrentCall = {
      id: message.call,
      owner,
      visit: message.visit,
      siteName: message.siteName,
      participants: message.participants,
      media: null as unknown as CallMedia,
      view: null as unknown as CallView,
    };
    const rung = ringing?.call === message.call ? ringing : null;
    if (!rung) stopRinging();
    ringing = null;
    current.media = rung ?? new CallMedia(message.call, iceServers, (m) => void socket.send(m), false);
    // A colleague whose desk rings for the call connects to us now; they see and hear us
    // once they join.
    current.media.admits = (key) => key === 'kiosk' || current.participants.some((p) => p.staff === key);
    const events: CallEvents = {
      stream: (key, stream) => current.view.stream(key, stream, label(key)),
      peerState: (key, state) => {
        if (key === 'kiosk' && state === 'failed') say(t('call.mediaFailed'), 'error');
      },
      chat: (text) => {
        current.view.chatLine('citizen', text);
        announce(t('chat.newFromCitizen', { text }));
      },
      chatSeen: (id) => current.view.chatSeen(id),
      scanner: (scanning, pages, problem) => current.view.showScanner(scanning, pages, problem),
      documentOffered: (document, pages) => documents.start(current.visit, current.siteName, document, pages),
      page: (page) => documents.page(current.visit, page),
      documentComplete: (document) => {
        documents.complete(current.visit, document);
        // The kiosk forgets the pages once they are here; nothing waits at the scanner now.
        current.view.showScanner(false, 0, null);
      },
      documentFailed: (document, reason) => documents.failed(current.visit, document, t(`documentFailure.${reason}`)),
      quality: (report) => current.view.showQuality(report),
      problem: (text) => say(t('call.deviceProblem', { problem: text }), 'error'),
    };
    current.view = new CallView(
      {
        siteName: message.siteName,
        language: message.language,
        isOfficer,
        ownAgency: account.agency,
        agencies,
        interpreterLanguages: [...new Set(agencies.flatMap((a) => a.languages))],
      },
      {
        mute: (muted) => current.media.setMuted(muted),
        cameraOff: (off) => current.media.setCameraOff(off),
        chat: (text) => {
          const id = current.media.chat(text);
          if (id === null) say(t('chat.notConnected'), 'error');
          else current.view.chatLine('me', text, id);
        },
        askDocument: () => {
          socket.send({ type: 'requestDocument', call: current.id });
          say(t('call.documentAsked'));
        },
        invite: (target) => {
          socket.send({ type: 'invite', call: current.id, target });
          say(target.kind === 'interpreter' ? t('invite.sentInterpreter', { language: languageName(target.language) }) : t('invite.sentColleague'));
        },
        transfer: (agency, language, mode) => {
          socket.send({ type: 'transfer', call: current.id, agency, language, mode });
          say(t('transfer.sent', { agency: agencies.find((a) => a.id === agency)?.name ?? agency }));
        },
        end: (outcome) => socket.send({ type: 'endCall', call: current.id, outcome }),
        leave: () => socket.send({ type: 'leaveCall', call: current.id }),
      },
      owner,
    );
    call = current;
    lockLanguage(true);
    replace(callSlot, current.view.element);
    current.view.setParticipants(message.participants);
    // Whatever the kiosk sent while we rang (nothing but its tracks) shows now.
    current.media.attach(events);
    await current.media.goLive();
    current.view.setLocal(await current.media.localStream());
    announce(t('call.started', { site: message.siteName }));
    for (const p of message.participants) {
      if (p.staff !== myId && !current.media.hasPeer(p.staff)) await current.media.offerTo(p.staff);
    }
    // Someone connected to while we rang who left the call meanwhile.
    for (const key of current.media.peerKeys()) {
      if (key !== 'kiosk' && !message.participants.some((p) => p.staff === key)) current.media.drop(key);
    }
  }

  function endCallView(): void {
    if (!call) return;
    call.media.close();
    call.view.close();
    call = null;
    lockLanguage(false);
    replace(callSlot);
  }

  async function handle(message: BrokerToDesk): Promise<void> {
    switch (message.type) {
      case 'welcome':
        me = message.me;
        status = message.status;
        iceServers = message.iceServers;
        renderStatus();
        // An offer that rang when the link went has been withdrawn unheard: the broker takes
        // back what rings for someone who is gone.
        if (offer) {
          showOffer(null);
          stopRinging();
        }
        // Back after a broker restart that could not keep the call (the broker keeps waiting
        // visits, not calls): the kiosk puts the citizen first in the queue again.
        if (call && status !== 'inCall') {
          endCallView();
          say(t('call.lostByServer'), 'error');
        }
        break;
      case 'statusChanged':
        status = message.status;
        renderStatus();
        break;
      case 'queues':
        queues.update(message.queues);
        break;
      case 'offer':
        showOffer(message);
        break;
      case 'offerHeld':
        if (offer?.offer === message.offer) showHeld(offer);
        break;
      case 'offerWithdrawn':
        if (offer?.offer === message.offer) {
          showOffer(null);
          stopRinging();
          say(t(`offerWithdrawn.${message.reason}`));
        }
        break;
      case 'callStarted':
        showOffer(null);
        await startCall(message);
        break;
      case 'participantJoined':
        if (call?.id === message.call) {
          call.participants = [...call.participants.filter((p) => p.staff !== message.participant.staff), message.participant];
          call.view.setParticipants(call.participants);
          await call.media.admit(message.participant.staff);
          say(t('call.joined', { name: message.participant.displayName }));
          if (call.owner && message.owner !== me?.card.staff) {
            // The colleague took the visit over: it is theirs to end now, ours to leave.
            call.owner = false;
            call.view.setOwner(false);
            say(t('transfer.takenOver', { name: message.participant.displayName }));
          }
        }
        break;
      case 'ringEnded':
        // A colleague's desk rang for our call and was not answered: its connection goes.
        if (call?.id === message.call && !call.participants.some((p) => p.staff === message.staff)) {
          call.media.drop(message.staff);
        }
        break;
      case 'participantLeft':
        if (call?.id === message.call) {
          const gone = call.participants.find((p) => p.staff === message.staff);
          call.participants = call.participants.filter((p) => p.staff !== message.staff);
          call.media.drop(message.staff);
          call.view.removePeer(message.staff);
          call.view.setParticipants(call.participants);
          if (gone) say(t('call.left', { name: gone.displayName }));
        }
        break;
      case 'signal':
        if (call?.id === message.call) await call.media.signal(message.from, message.payload);
        else if (ringing?.call === message.call) await ringing.signal(message.from, message.payload);
        break;
      case 'documentNoted':
        break;
      case 'callEnded':
        if (call?.id === message.call) {
          endCallView();
          say(t('call.ended', { outcome: t(`outcome.${message.outcome}`) }));
        }
        break;
      case 'inviteUnanswered':
        say(message.target.kind === 'interpreter'
          ? t('invite.unansweredInterpreter', { language: languageName(message.target.language) })
          : t('invite.unansweredColleague'), 'error');
        break;
      case 'iceServers':
        iceServers = message.iceServers;
        break;
      case 'error': {
        const request = socket.request(message.request);
        // Signalling still in flight as a call ends meets a call that is gone.
        if (message.code === 'callGone' && (request === undefined || request.type === 'signal')) break;
        if (message.code !== 'sessionEnded') console.warn('refused', request?.type, message.code, message.message);
        say(refusal(message.code, request), 'error');
        break;
      }
    }
  }

  const logout = async () => {
    socket.stop();
    stopRinging();
    endCallView();
    documents.clear();
    await api.post('/api/logout');
    location.assign('/');
  };

  replace(root,
    pageHeader(account, agencies.find((a) => a.id === account.agency)?.name ?? account.agency, logout, statusGroup),
    linkBanner,
    h('main', { id: 'main', class: isOfficer ? 'desk officer' : 'desk interpreter', tabindex: -1 },
      h('h1', { class: 'visually-hidden' }, isOfficer ? t('desk.titleOfficer') : t('desk.titleInterpreter')),
      notice,
      h('div', { class: 'desk-columns' },
        h('div', { class: 'desk-main' }, offerSlot, callSlot, documents.element),
        isOfficer ? h('div', { class: 'desk-side' }, queues.element, bookingForm(agencies, account.agency)) : null,
      ),
    ),
  );
  renderStatus();
  socket.start();
}
