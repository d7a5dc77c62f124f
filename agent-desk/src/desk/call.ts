// The media side of one call: a peer connection to the kiosk and one to each other desk in
// the call (a mesh: a document sent to one of them reaches no one else). The kiosk offers to
// us; towards a desk already in the call, the one who joined later offers. Chat and
// documents come over the data channel the kiosk opens. Signalling goes out through `send`.
//
// It starts when the offer rings, not when it is answered: the kiosk connects to us while
// we ring, so that the answer needs only a picture. Until `goLive` (the answer) our camera
// and microphone are not on the connection, the kiosk sends nothing either, and what the
// call reports waits for the screen that `attach` brings.
import type { CallId, DeskToBroker, DocumentFailure, IceServer, Peer, PeerMessage, SignalPayload, StaffId } from '../protocol/protocol';
import { DocumentReceiver, type ReceivedPage } from './documents';

/** 'kiosk', or the other desk's staff id. */
export type PeerKey = string;

export type Quality = 'good' | 'fair' | 'poor' | 'unknown';

export interface QualityReport {
  quality: Quality;
  roundTripMs: number | null;
  lossPercent: number | null;
  framesPerSecond: number | null;
  width: number | null;
  relayed: boolean;
}

export interface CallEvents {
  stream(key: PeerKey, stream: MediaStream): void;
  peerState(key: PeerKey, state: RTCPeerConnectionState): void;
  chat(text: string, id: number): void;
  chatSeen(id: number): void;
  scanner(scanning: boolean, pages: number, problem: string | null): void;
  documentOffered(document: number, pages: number): void;
  page(page: ReceivedPage): void;
  documentComplete(document: number): void;
  documentFailed(document: number, reason: DocumentFailure, detail: string): void;
  quality(report: QualityReport): void;
  problem(text: string): void;
}

interface PeerLink {
  pc: RTCPeerConnection;
  target: Peer;
  channel: RTCDataChannel | null;
  documents: DocumentReceiver | null;
  /** Candidates that came before the offer they belong to was applied. */
  early: RTCIceCandidateInit[];
}

const keyOf = (peer: Peer): PeerKey => (peer.kind === 'kiosk' ? 'kiosk' : peer.staff);

/** The DTLS fingerprint an SDP names: a new one is a new connection, not a renegotiation. */
const fingerprintOf = (sdp: string): string | null => /a=fingerprint:(.*)/.exec(sdp)?.[1]?.trim() ?? null;

export class CallMedia {
  private readonly peers = new Map<PeerKey, PeerLink>();
  private local: MediaStream | null = null;
  private chatId = 0;
  private statsTimer = 0;
  private lastBytes: { at: number; packetsLost: number; packetsReceived: number } | null = null;
  /** Streams that arrived before the call's screen was there to show them. */
  private readonly early = new Map<PeerKey, MediaStream>();
  private events: CallEvents | null = null;
  private live = false;
  private closed = false;
  private localRequest: Promise<MediaStream> | null = null;
  /** A camera or microphone that failed before the call's screen was there to say so. */
  private deviceProblem: string | null = null;
  /**
   * Whether our camera and microphone go to this peer once we are live: the kiosk and those in
   * the call do; a colleague whose desk still rings for it does not until it joins (`admit`).
   */
  admits: (key: PeerKey) => boolean = () => true;

  /** `ringing`: made for an offer that rings, sending nothing until `goLive`. */
  constructor(
    readonly call: CallId,
    private readonly iceServers: IceServer[],
    private readonly send: (message: DeskToBroker) => void,
    ringing: boolean,
  ) {
    this.live = !ringing;
    this.statsTimer = window.setInterval(() => void this.measure(), 2000);
  }

  /** The call's screen is up: what it should show goes to `events` from now on. */
  attach(events: CallEvents): void {
    this.events = events;
    if (this.deviceProblem) events.problem(this.deviceProblem);
    this.deviceProblem = null;
    for (const [key, stream] of this.early) {
      if (!this.admits(key)) continue;
      events.stream(key, stream);
      this.early.delete(key);
    }
  }

  /** The call was answered: our camera and microphone go on every connection. */
  async goLive(): Promise<void> {
    if (this.live) return;
    this.live = true;
    const local = await this.localStream();
    for (const [key, link] of this.peers) {
      if (this.admits(key)) await this.sendLocal(link.pc, local);
    }
  }

  /** Someone whose desk rang for the call joined it: they get our camera and microphone. */
  async admit(key: PeerKey): Promise<void> {
    const stream = this.early.get(key);
    if (stream && this.events) {
      this.events.stream(key, stream);
      this.early.delete(key);
    }
    const link = this.peers.get(key);
    if (this.live && link) await this.sendLocal(link.pc, await this.localStream());
  }

  /** The camera and microphone, asked for once per call. */
  async localStream(): Promise<MediaStream> {
    // One request however many ask while it is pending (the ring, the kiosk's offer), so that
    // one capture is kept and the one stopped at the end.
    this.localRequest ??= this.capture();
    return this.localRequest;
  }

  private async capture(): Promise<MediaStream> {
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { width: 1280, height: 720, frameRate: 30 },
        audio: { echoCancellation: true, noiseSuppression: true },
      });
    } catch (error) {
      // Said once the call's screen is up if it is not yet (the offer still rings).
      if (this.events) this.events.problem(String(error));
      else this.deviceProblem = String(error);
      // Still take part: receive the citizen, send nothing until a device works.
      stream = new MediaStream();
    }
    if (this.closed) {
      // The ring ended while the camera was starting: nothing may keep it on.
      for (const track of stream.getTracks()) track.stop();
    }
    this.local = stream;
    return stream;
  }

  setMuted(muted: boolean): void {
    for (const track of this.local?.getAudioTracks() ?? []) track.enabled = !muted;
  }

  setCameraOff(off: boolean): void {
    for (const track of this.local?.getVideoTracks() ?? []) track.enabled = !off;
  }

  /** Sends a chat line to the citizen; returns its id, which `chatSeen` later names. */
  chat(text: string): number | null {
    const channel = this.peers.get('kiosk')?.channel;
    if (!channel || channel.readyState !== 'open') return null;
    this.chatId += 1;
    channel.send(JSON.stringify({ type: 'chat', id: this.chatId, text } satisfies PeerMessage));
    return this.chatId;
  }

  hasPeer(key: PeerKey): boolean {
    return this.peers.has(key);
  }

  peerKeys(): PeerKey[] {
    return [...this.peers.keys()];
  }

  async signal(from: Peer, payload: SignalPayload): Promise<void> {
    const key = keyOf(from);
    const link = this.peers.get(key);
    if (payload.kind === 'offer') {
      await this.answer(from, payload.sdp);
    } else if (payload.kind === 'answer' && link) {
      await link.pc.setRemoteDescription({ type: 'answer', sdp: payload.sdp });
      await this.flushEarly(link);
    } else if (payload.kind === 'candidate') {
      const candidate = { candidate: payload.candidate, sdpMid: payload.sdpMid, sdpMLineIndex: payload.sdpMLineIndex };
      if (link?.pc.remoteDescription) await link.pc.addIceCandidate(candidate);
      else if (link) link.early.push(candidate);
    }
  }

  /**
   * We joined after `staff` (or are ringing to join them): we make the offer to them. Both
   * ways from the start, with our tracks on once we are live, so that the answer needs no
   * renegotiation.
   */
  async offerTo(staff: StaffId): Promise<void> {
    const target: Peer = { kind: 'staff', staff };
    const link = this.connect(target);
    const local = await this.localStream();
    link.pc.addTransceiver('audio', { direction: 'sendrecv' });
    link.pc.addTransceiver('video', { direction: 'sendrecv' });
    if (this.live) await this.sendLocal(link.pc, local);
    const description = await link.pc.createOffer();
    await link.pc.setLocalDescription(description);
    this.sendSignal(target, { kind: 'offer', sdp: description.sdp ?? '' });
  }

  drop(key: PeerKey): void {
    this.early.delete(key);
    const link = this.peers.get(key);
    if (!link) return;
    link.documents?.closed();
    link.pc.close();
    this.peers.delete(key);
  }

  close(): void {
    this.closed = true;
    window.clearInterval(this.statsTimer);
    for (const key of [...this.peers.keys()]) this.drop(key);
    for (const track of this.local?.getTracks() ?? []) track.stop();
  }

  /** Whether this call's media was closed (a ring that ended, a call that ended). */
  isClosed(): boolean {
    return this.closed;
  }

  private sendSignal(to: Peer, payload: SignalPayload): void {
    this.send({ type: 'signal', call: this.call, to, payload });
  }

  private connect(target: Peer): PeerLink {
    const key = keyOf(target);
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    const link: PeerLink = { pc, target, channel: null, documents: null, early: [] };
    this.peers.set(key, link);
    pc.onicecandidate = ({ candidate }) => {
      if (candidate?.candidate) {
        this.sendSignal(target, {
          kind: 'candidate',
          candidate: candidate.candidate,
          sdpMid: candidate.sdpMid,
          sdpMLineIndex: candidate.sdpMLineIndex,
        });
      }
    };
    pc.ontrack = ({ track, streams }) => {
      const stream = streams[0] ?? new MediaStream([track]);
      // Shown once the call's screen is up and they are in the call.
      if (this.events && this.admits(key)) this.events.stream(key, stream);
      else this.early.set(key, stream);
    };
    pc.onconnectionstatechange = () => this.events?.peerState(key, pc.connectionState);
    pc.ondatachannel = ({ channel }) => this.attachChannel(link, channel);
    return link;
  }

  private attachChannel(link: PeerLink, channel: RTCDataChannel): void {
    link.channel = channel;
    channel.binaryType = 'arraybuffer';
    const reply = (message: PeerMessage) => {
      if (channel.readyState === 'open') channel.send(JSON.stringify(message));
    };
    const fromKiosk = link.target.kind === 'kiosk';
    if (fromKiosk) {
      link.documents = new DocumentReceiver(reply, {
        offered: (document, pages) => this.events?.documentOffered(document, pages),
        page: (page) => this.events?.page(page),
        complete: (document) => this.events?.documentComplete(document),
        failed: (document, reason, detail) => this.events?.documentFailed(document, reason, detail),
      });
    }
    channel.onclose = () => link.documents?.closed();
    channel.onmessage = ({ data }) => {
      if (typeof data !== 'string') {
        link.documents?.frame(data as ArrayBuffer);
        return;
      }
      let message: PeerMessage;
      try {
        message = JSON.parse(data) as PeerMessage;
      } catch {
        this.events?.problem('a message on the data channel was not JSON');
        return;
      }
      if (!fromKiosk) return;
      switch (message.type) {
        case 'chat':
          this.events?.chat(message.text, message.id);
          reply({ type: 'chatSeen', id: message.id });
          break;
        case 'chatSeen':
          this.events?.chatSeen(message.id);
          break;
        case 'scannerState':
          this.events?.scanner(message.scanning, message.pages, message.problem);
          break;
        case 'documentOffered':
          link.documents?.offered(message.document, message.pages);
          break;
        case 'documentFailed':
          link.documents?.failedByKiosk(message.document, message.reason);
          break;
        case 'pageReceived':
          break;
      }
    };
  }

  private async answer(from: Peer, sdp: string): Promise<void> {
    const key = keyOf(from);
    let existing = this.peers.get(key);
    if (existing && fingerprintOf(existing.pc.remoteDescription?.sdp ?? '') !== fingerprintOf(sdp)) {
      // A connection of its own (the kiosk gave up the one made while we rang, or restarted):
      // the old one goes.
      this.drop(key);
      existing = undefined;
    }
    if (existing) {
      // A second offer renegotiates (an ICE restart after the network path changed).
      await existing.pc.setRemoteDescription({ type: 'offer', sdp });
      const description = await existing.pc.createAnswer();
      await existing.pc.setLocalDescription(description);
      this.sendSignal(from, { kind: 'answer', sdp: description.sdp ?? '' });
      await this.flushEarly(existing);
      return;
    }
    const link = this.connect(from);
    const local = await this.localStream();
    await link.pc.setRemoteDescription({ type: 'offer', sdp });
    // Both ways from the start, so that the answer needs no renegotiation: while we ring,
    // with no track on our side.
    for (const transceiver of link.pc.getTransceivers()) transceiver.direction = 'sendrecv';
    if (this.live && this.admits(key)) await this.sendLocal(link.pc, local);
    const description = await link.pc.createAnswer();
    await link.pc.setLocalDescription(description);
    this.sendSignal(from, { kind: 'answer', sdp: description.sdp ?? '' });
    await this.flushEarly(link);
  }

  private async sendLocal(pc: RTCPeerConnection, local: MediaStream): Promise<void> {
    for (const transceiver of pc.getTransceivers()) {
      const track = local.getTracks().find((t) => t.kind === transceiver.receiver.track.kind);
      if (track && transceiver.sender.track !== track) await transceiver.sender.replaceTrack(track);
    }
  }

  private async flushEarly(link: PeerLink): Promise<void> {
    const early = link.early.splice(0);
    for (const candidate of early) await link.pc.addIceCandidate(candidate);
  }

  /** The kiosk link's quality from WebRTC statistics: round trip, loss, frame rate. */
  private async measure(): Promise<void> {
    const link = this.peers.get('kiosk');
    if (!link || link.pc.connectionState !== 'connected') {
      this.events?.quality({ quality: 'unknown', roundTripMs: null, lossPercent: null, framesPerSecond: null, width: null, relayed: false });
      return;
    }
    const stats = await link.pc.getStats();
    let roundTripMs: number | null = null;
    let framesPerSecond: number | null = null;
    let width: number | null = null;
    let packetsLost = 0;
    let packetsReceived = 0;
    let relayed = false;
    let selectedPair: string | null = null;
    const localCandidates = new Map<string, string>();
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) selectedPair = s.selectedCandidatePairId;
      if (s.type === 'local-candidate') localCandidates.set(s.id, s.candidateType);
    });
    stats.forEach((s) => {
      if (s.type === 'candidate-pair' && s.id === selectedPair) {
        if (typeof s.currentRoundTripTime === 'number') roundTripMs = Math.round(s.currentRoundTripTime * 1000);
        relayed = localCandidates.get(s.localCandidateId) === 'relay';
      }
      if (s.type === 'inbound-rtp') {
        packetsLost += s.packetsLost ?? 0;
        packetsReceived += s.packetsReceived ?? 0;
        if (s.kind === 'video') {
          framesPerSecond = s.framesPerSecond ?? 0;
          width = s.frameWidth ?? null;
        }
      }
    });
    const now = Date.now();
    let lossPercent: number | null = null;
    if (this.lastBytes) {
      const lost = packetsLost - this.lastBytes.packetsLost;
      const received = packetsReceived - this.lastBytes.packetsReceived;
      lossPercent = lost + received > 0 ? (100 * lost) / (lost + received) : 0;
    }
    this.lastBytes = { at: now, packetsLost, packetsReceived };
    const rtt = roundTripMs ?? 0;
    const loss = lossPercent ?? 0;
    const fps = framesPerSecond ?? 0;
    const quality: Quality = rtt > 400 || loss > 5 || fps < 10 ? 'poor' : rtt > 200 || loss > 1 || fps < 20 ? 'fair' : 'good';
    this.events?.quality({ quality, roundTripMs, lossPercent, framesPerSecond, width, relayed });
  }
}
