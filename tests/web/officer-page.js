// An officer's (or interpreter's) side of a call, run inside headless Chromium on the broker's
// own origin: the desk protocol over the real WebSocket, one real RTCPeerConnection per other
// person in the call (the kiosk offers to us; towards other desks the one who joined later
// offers), Chromium's fake camera, and the data channel for chat and documents (page frames put
// together and each page's SHA-256 checked before it counts as received). It is a test
// driver, not the desk: it speaks the protocol with no screen, reports what it measures
// (frame counts, marks for latency, candidate types) and takes commands, for the kiosk's
// end-to-end tests and the benchmarks (through `officer.mjs`). The real pages in agent-desk/
// are tested by `desk-e2e.mjs`. Everything it learns goes to `report()`.
//
// As the desk does, it lets the kiosk connect while an offer rings, and puts its camera and
// microphone on the connection only once it has answered: at once (the default), or on
// `answer()` when `answerByCommand` is set.
window.startOfficer = async function startOfficer({ username, password, relayOnly, video, marker, answerByCommand }) {
  const report = (event) => window.report(JSON.stringify(event));
  const login = await fetch('/api/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (!login.ok) {
    report({ event: 'error', message: `login failed: ${login.status} ${await login.text()}` });
    return;
  }
  // Reconnected as the desk does when the broker goes away; a call's media and data channel
  // run peer to peer meanwhile.
  let socket = null;
  const send = (message) => socket.send(JSON.stringify(message));
  let iceServers = [];
  let me = null;
  let call = null;
  // The offer ringing now: its id, the call it would start or join, when it was answered.
  let ringing = null;
  let answeredAt = null;
  // One entry per other person in the call, keyed 'kiosk' or by staff id.
  const peers = new Map();
  let media = null;
  let statsTimer = null;
  let chatId = 0;

  const keyOf = (peer) => (peer.kind === 'kiosk' ? 'kiosk' : peer.staff);

  function accept() {
    if (!ringing) {
      report({ event: 'error', message: 'nothing rings to answer' });
      return;
    }
    answeredAt = Date.now();
    report({ event: 'answered', at: answeredAt, call: ringing.call });
    send({ type: 'acceptOffer', offer: ringing.offer });
  }

  window.officer = {
    answer() {
      accept();
    },
    // 'command': offers ring until `answer`; 'offer': answered as they ring.
    answerBy(mode) {
      answerByCommand = mode === 'command';
      report({ event: 'answerBy', mode });
    },
    chat(text) {
      chatId += 1;
      peers.get('kiosk').channel.send(JSON.stringify({ type: 'chat', id: chatId, text }));
    },
    end() {
      send({ type: 'endCall', call, outcome: 'served' });
    },
    // An interpreter or an invited colleague leaves a call that goes on.
    leave() {
      send({ type: 'leaveCall', call });
    },
    inviteInterpreter(language) {
      send({ type: 'invite', call, target: { kind: 'interpreter', language } });
    },
    inviteOfficer(agency) {
      send({ type: 'invite', call, target: { kind: 'officer', agency } });
    },
    available() {
      send({ type: 'setStatus', status: 'available' });
    },
    askDocument() {
      send({ type: 'requestDocument', call });
    },
    // A slow network between this desk and the broker, for as long as the test likes:
    // signalling from the broker waits (so no media flows yet) until `releaseSignals`.
    holdSignals() {
      held = new Promise((resolve) => {
        release = resolve;
      });
      report({ event: 'holding' });
    },
    releaseSignals() {
      held = null;
      release();
    },
  };
  let held = null;
  let release = () => {};

  // A document arriving from the kiosk: its manifest, then binary frames, page after page.
  // Frame: "NP" | version 1 | 0 | document u32 | page u16 | offset u32 | bytes (big-endian).
  function documentReceiver(key, channel) {
    let current = null;
    const fail = (document, reason, detail) => {
      report({ event: 'documentFailed', from: key, document, reason, detail });
      channel.send(JSON.stringify({ type: 'documentFailed', document, reason }));
      current = null;
    };
    const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');
    return {
      offered(message) {
        current = {
          document: message.document,
          manifest: message.pages,
          pages: message.pages.map((p) => new Uint8Array(p.bytes)),
          filled: message.pages.map(() => 0),
          page: 0,
          verified: 0,
        };
        report({ event: 'documentOffered', from: key, document: message.document, pages: message.pages.length, at: Date.now() });
      },
      failed(message) {
        report({ event: 'documentFailed', from: key, document: message.document, reason: message.reason });
        current = null;
      },
      // The channel closed: a document still arriving never will, and is not shown.
      closed() {
        if (current && current.verified < current.pages.length) {
          report({ event: 'documentFailed', from: key, document: current.document, reason: 'connectionLost' });
        }
        current = null;
      },
      frame(buffer) {
        const view = new DataView(buffer);
        if (buffer.byteLength < 14 || view.getUint8(0) !== 0x4e || view.getUint8(1) !== 0x50 || view.getUint8(2) !== 1) {
          report({ event: 'badFrame', from: key, bytes: buffer.byteLength });
          return;
        }
        const document = view.getUint32(4);
        const page = view.getUint16(8);
        const offset = view.getUint32(10);
        const data = new Uint8Array(buffer, 14);
        if (!current || current.document !== document) {
          report({ event: 'badFrame', from: key, document, reason: 'no such document' });
          return;
        }
        // Ordered and reliable: every frame continues exactly where the last one ended.
        if (page !== current.page || offset !== current.filled[page] || offset + data.length > current.pages[page].length) {
          fail(document, 'protocolViolation', `page ${page} at ${offset}`);
          return;
        }
        current.pages[page].set(data, offset);
        current.filled[page] += data.length;
        if (current.filled[page] < current.pages[page].length) return;
        current.page += 1;
        const whole = current;
        const bytes = whole.pages[page];
        crypto.subtle.digest('SHA-256', bytes).then((digest) => {
          const sha256 = hex(digest);
          if (sha256 !== whole.manifest[page].sha256) {
            fail(document, 'corrupted', `page ${page}`);
            return;
          }
          report({ event: 'page', from: key, document, page, bytes: bytes.length, sha256, at: Date.now() });
          channel.send(JSON.stringify({ type: 'pageReceived', document, page }));
          whole.verified += 1;
          if (whole.verified === whole.pages.length) {
            report({ event: 'documentComplete', from: key, document, pages: whole.pages.length, at: Date.now() });
          }
        });
      },
    };
  }

  async function localMedia() {
    if (!media) {
      media = await navigator.mediaDevices.getUserMedia({
        video: { ...video, frameRate: 30 },
        audio: true,
      });
      if (marker) {
        const [camera] = media.getVideoTracks();
        media.removeTrack(camera);
        camera.stop();
        media.addTrack(markerTrack());
      }
    }
    return media;
  }

  // A picture that is white from each whole second of the wall clock to the half, black
  // otherwise, with a moving bar so that frames keep coming (capture-to-display benchmark).
  function markerTrack() {
    const canvas = document.createElement('canvas');
    canvas.width = video.width;
    canvas.height = video.height;
    const context = canvas.getContext('2d');
    let step = 0;
    setInterval(() => {
      const white = Date.now() % 1000 < 500;
      context.fillStyle = white ? '#fff' : '#000';
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.fillStyle = '#808080';
      step = (step + 8) % canvas.width;
      context.fillRect(step, 0, 8, 16);
    }, 5);
    return canvas.captureStream(30).getVideoTracks()[0];
  }

  // Reports each turn of a received picture to white, and how far past the whole second it
  // was shown.
  function watchMarks(element, from) {
    const probe = document.createElement('canvas');
    probe.width = 8;
    probe.height = 8;
    const context = probe.getContext('2d', { willReadFrequently: true });
    let bright = false;
    const onFrame = (now, metadata) => {
      context.drawImage(element, 0, 0, 8, 8);
      const [r, g, b] = context.getImageData(4, 4, 1, 1).data;
      const luma = (r + g + b) / 3;
      const shownAt = performance.timeOrigin + metadata.expectedDisplayTime;
      const past = Math.round(shownAt % 1000);
      // The first picture past mid-grey: an encoder may take a few frames to reach white.
      if (luma > 128 && !bright && past < 500) report({ event: 'mark', from, ms: past });
      bright = luma > 128;
      element.requestVideoFrameCallback(onFrame);
    };
    element.requestVideoFrameCallback(onFrame);
  }

  // A connection to `target`; the first decoded frame from it is reported with how long it
  // took from the offer (made here, or arrived here).
  async function connect(target, on) {
    const key = keyOf(target);
    const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: relayOnly ? 'relay' : 'all' });
    const peer = { pc, target, channel: null, offerAt: null, call: on };
    peers.set(key, peer);
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && candidate.candidate) {
        send({
          type: 'signal', call: on, to: target,
          payload: { kind: 'candidate', candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex },
        });
      }
    };
    // Chromium decodes audio only for a sink that plays it, as a desk page's element would.
    pc.ontrack = ({ track, streams }) => {
      const element = document.createElement(track.kind);
      element.srcObject = streams[0] || new MediaStream([track]);
      element.autoplay = true;
      element.muted = false;
      document.body.appendChild(element);
      element.play().catch(() => {});
      if (track.kind === 'video' && marker) watchMarks(element, key);
      if (track.kind === 'video') {
        element.requestVideoFrameCallback(() => {
          // A frame still on its way when the connection closed belongs to no call.
          if (peers.get(key) !== peer) return;
          const at = Date.now();
          report({
            event: 'firstFrame', from: key, at,
            ms: peer.offerAt ? at - peer.offerAt : null,
            sinceAnswer: answeredAt ? at - answeredAt : null,
          });
        });
      }
    };
    pc.oniceconnectionstatechange = () => report({ event: 'connection', from: key, ice: pc.iceConnectionState, ms: peer.offerAt ? Date.now() - peer.offerAt : null });
    pc.onconnectionstatechange = () => report({ event: 'connection', from: key, state: pc.connectionState, ms: peer.offerAt ? Date.now() - peer.offerAt : null });
    const onChannel = (channel) => {
      peer.channel = channel;
      const opened = () => report({ event: 'channelOpen', from: key });
      if (channel.readyState === 'open') opened();
      else channel.onopen = opened;
      channel.binaryType = 'arraybuffer';
      const documents = documentReceiver(key, channel);
      channel.onclose = () => documents.closed();
      channel.onmessage = ({ data }) => {
        if (typeof data !== 'string') {
          documents.frame(data);
          return;
        }
        const message = JSON.parse(data);
        if (message.type === 'documentOffered') documents.offered(message);
        else if (message.type === 'documentFailed') documents.failed(message);
        else if (message.type === 'scannerState') report({ event: 'scannerState', from: key, scanning: message.scanning, pages: message.pages, problem: message.problem });
        else if (message.type === 'chat') {
          report({ event: 'chat', from: key, text: message.text });
          channel.send(JSON.stringify({ type: 'chatSeen', id: message.id }));
        } else if (message.type === 'chatSeen') {
          report({ event: 'chatSeen', id: message.id });
        }
      };
    };
    pc.ondatachannel = ({ channel }) => onChannel(channel);
    const local = await localMedia();
    return { peer, onChannel, local };
  }

  const fingerprintOf = (sdp) => /a=fingerprint:(.*)/.exec(sdp || '')?.[1]?.trim() || null;

  // Our camera and microphone on a connection: only once we are in its call.
  async function sendLocal(pc, local) {
    for (const transceiver of pc.getTransceivers()) {
      const track = local.getTracks().find((t) => t.kind === transceiver.receiver.track.kind);
      if (track && transceiver.sender.track !== track) await transceiver.sender.replaceTrack(track);
    }
  }

  async function answer(target, on, offerSdp) {
    const key = keyOf(target);
    const existing = peers.get(key);
    // A second offer from the same peer renegotiates (an ICE restart after the path broke);
    // one with another fingerprint is a new connection, and the old one goes.
    if (existing && fingerprintOf(existing.pc.remoteDescription?.sdp) === fingerprintOf(offerSdp)) {
      await existing.pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
      const description = await existing.pc.createAnswer();
      await existing.pc.setLocalDescription(description);
      send({ type: 'signal', call: on, to: target, payload: { kind: 'answer', sdp: description.sdp } });
      report({ event: 'renegotiated', from: key });
      return;
    }
    if (existing) {
      existing.pc.close();
      peers.delete(key);
      report({ event: 'replaced', from: key });
    }
    const arrived = Date.now();
    const { peer, local } = await connect(target, on);
    peer.offerAt = arrived;
    const { pc } = peer;
    await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
    for (const transceiver of pc.getTransceivers()) transceiver.direction = 'sendrecv';
    if (on === call) await sendLocal(pc, local);
    const description = await pc.createAnswer();
    await pc.setLocalDescription(description);
    send({ type: 'signal', call: on, to: target, payload: { kind: 'answer', sdp: description.sdp } });
    report({ event: 'answeredOffer', from: key, ringing: on !== call });
    if (target.kind === 'kiosk' && !statsTimer) statsTimer = setInterval(reportStats, 500);
  }

  // Towards a desk already in the call, we (who joined later) offer.
  async function offerTo(target) {
    const { peer, onChannel, local } = await connect(target, call);
    onChannel(peer.pc.createDataChannel('nara'));
    for (const track of local.getTracks()) peer.pc.addTrack(track, local);
    peer.offerAt = Date.now();
    const description = await peer.pc.createOffer();
    await peer.pc.setLocalDescription(description);
    send({ type: 'signal', call, to: target, payload: { kind: 'offer', sdp: description.sdp } });
  }

  async function reportStats() {
    const peer = peers.get('kiosk');
    if (!peer) return;
    const stats = await peer.pc.getStats();
    const summary = {
      event: 'stats', at: Date.now(), inCall: call !== null, connectionState: peer.pc.connectionState, framesDecoded: 0, frameWidth: 0, framesPerSecond: 0,
      audioSamples: 0, audioBytes: 0, audioEnergy: 0, concealedSamples: 0, candidateType: null,
      remoteCandidateType: null, remoteAddress: null, relayProtocol: null,
    };
    const candidates = new Map();
    const remoteCandidates = new Map();
    const pairs = new Map();
    let selectedPair = null;
    stats.forEach((s) => {
      if (s.type === 'local-candidate') candidates.set(s.id, s);
      if (s.type === 'remote-candidate') remoteCandidates.set(s.id, s);
      if (s.type === 'candidate-pair') pairs.set(s.id, s);
      if (s.type === 'transport' && s.selectedCandidatePairId) selectedPair = s.selectedCandidatePairId;
    });
    stats.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        summary.framesDecoded = s.framesDecoded || 0;
        summary.frameWidth = s.frameWidth || 0;
        summary.framesPerSecond = s.framesPerSecond || 0;
      }
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        summary.sending = { fps: s.framesPerSecond, width: s.frameWidth, limitedBy: s.qualityLimitationReason };
      }
      if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        summary.audioSamples = s.totalSamplesReceived || 0;
        summary.audioBytes = s.bytesReceived || 0;
        summary.audioEnergy = s.totalAudioEnergy || 0;
        summary.concealedSamples = s.concealedSamples || 0;
      }
    });
    const pair = pairs.get(selectedPair);
    if (pair) {
      const local = candidates.get(pair.localCandidateId);
      summary.candidateType = local?.candidateType || null;
      // How this browser reaches its TURN server when it relays: udp, tcp or tls.
      summary.relayProtocol = local?.relayProtocol || null;
      const remote = remoteCandidates.get(pair.remoteCandidateId);
      summary.remoteCandidateType = remote?.candidateType || null;
      summary.remoteAddress = remote?.address || null;
    }
    report(summary);
  }

  // How the other side left a connection, once it has (or what it still was after 5 s):
  // the DTLS transport's state in getStats and the connection's.
  async function remoteEnd(pc) {
    const deadline = Date.now() + 5000;
    let dtlsState = null;
    while (Date.now() < deadline) {
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'transport') dtlsState = s.dtlsState;
      });
      if (dtlsState === 'closed' || dtlsState === 'failed' || ['closed', 'failed'].includes(pc.connectionState)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { dtlsState, connectionState: pc.connectionState };
  }

  function closeAll() {
    clearInterval(statsTimer);
    statsTimer = null;
    const states = [...peers.values()].map(({ pc }) => {
      pc.close();
      return pc.connectionState;
    });
    peers.clear();
    for (const element of document.querySelectorAll('video, audio')) element.remove();
    return states;
  }

  function leaveCall(outcome) {
    closeAll();
    report({ event: 'callEnded', outcome });
    call = null;
    answeredAt = null;
  }

  // One message at a time: a candidate must wait until the offer it belongs to is applied.
  let handled = Promise.resolve();
  function openSocket() {
    socket = new WebSocket(`wss://${location.host}/ws/desk`);
    socket.onopen = () => send({ type: 'hello', protocolVersion: 1 });
    socket.onclose = (e) => {
      report({ event: 'socketClosed', code: e.code, reason: e.reason });
      // 1006: the connection dropped (the broker died) rather than being closed on purpose.
      if (e.code === 1006) setTimeout(openSocket, 250);
    };
    socket.onmessage = ({ data }) => {
      const message = JSON.parse(data);
      handled = handled.then(() => handle(message)).catch((e) => report({ event: 'error', message: String(e) }));
    };
  }
  openSocket();
  async function handle(message) {
    switch (message.type) {
      case 'welcome':
        iceServers = message.iceServers;
        me = message.me.card.staff;
        if (message.status === 'inCall') {
          // Back after the broker went away: the call it still holds is announced next.
          report({ event: 'reconnected' });
        } else {
          send({ type: 'setStatus', status: 'available' });
          report({ event: 'available' });
        }
        break;
      case 'statusChanged':
        report({ event: 'status', status: message.status });
        break;
      case 'queues':
        report({ event: 'queues', waiting: message.queues.reduce((n, q) => n + (q.waiting || []).length, 0) });
        break;
      case 'offer':
        ringing = { offer: message.offer, call: message.call };
        report({ event: 'offer', visit: message.visit, purpose: message.purpose.kind, call: message.call });
        if (!answerByCommand) accept();
        break;
      case 'offerHeld':
        report({ event: 'offerHeld', offer: message.offer });
        break;
      case 'offerWithdrawn': {
        // The kiosk closes its side of the ring's connection: seen here in getStats (its DTLS
        // close_notify) before this page closes its own.
        let kioskSide = null;
        if (ringing?.offer === message.offer && call === null) {
          const kioskPeer = peers.get('kiosk');
          if (kioskPeer) kioskSide = await remoteEnd(kioskPeer.pc);
          closeAll();
        }
        ringing = null;
        report({ event: 'offerWithdrawn', reason: message.reason, kioskSide });
        break;
      }
      case 'callStarted': {
        const resumed = call === message.call;
        call = message.call;
        ringing = null;
        report({ event: 'callStarted', call, participants: message.participants.length, resumed });
        const local = await localMedia();
        for (const peer of peers.values()) if (peer.call === call) await sendLocal(peer.pc, local);
        for (const participant of message.participants) {
          // After a reconnect, a peer whose media still runs is kept.
          if (participant.staff !== me && !peers.has(participant.staff)) await offerTo({ kind: 'staff', staff: participant.staff });
        }
        break;
      }
      case 'participantJoined':
        report({ event: 'participantJoined', staff: message.participant.staff });
        break;
      case 'participantLeft': {
        const peer = peers.get(message.staff);
        if (peer) peer.pc.close();
        peers.delete(message.staff);
        report({ event: 'participantLeft', staff: message.staff });
        break;
      }
      case 'signal': {
        if (held) await held;
        const from = message.from;
        const peer = peers.get(keyOf(from));
        if (message.call !== call && message.call !== ringing?.call) break;
        if (message.payload.kind === 'offer') {
          await answer(from, message.call, message.payload.sdp);
        } else if (message.payload.kind === 'answer' && peer) {
          await peer.pc.setRemoteDescription({ type: 'answer', sdp: message.payload.sdp });
        } else if (message.payload.kind === 'candidate' && peer) {
          await peer.pc.addIceCandidate({
            candidate: message.payload.candidate,
            sdpMid: message.payload.sdpMid,
            sdpMLineIndex: message.payload.sdpMLineIndex,
          });
        }
        break;
      }
      case 'callEnded':
        leaveCall(message.outcome);
        break;
      case 'error':
        // Signalling in flight when a call ends meets a call that is gone; a desk shrugs.
        if (message.message.startsWith('no call ')) report({ event: 'staleCall', message: message.message });
        else report({ event: 'brokerError', message: message.message });
        break;
      default:
        break;
    }
  }
};
