// An officer's side of a call, run inside headless Chromium on the broker's own origin: the
// desk protocol over the real WebSocket, a real RTCPeerConnection with Chromium's fake camera,
// and the data channel for chat. It stands in for the agent-desk page until that exists; the
// end-to-end tests drive it through `officer.mjs`. Everything it learns goes to `report()`.
window.startOfficer = async function startOfficer({ username, password, relayOnly }) {
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
  const socket = new WebSocket(`wss://${location.host}/ws/desk`);
  const send = (message) => socket.send(JSON.stringify(message));
  let iceServers = [];
  let call = null;
  let kiosk = null;
  let pc = null;
  let channel = null;
  let statsTimer = null;
  let chatId = 0;

  window.officer = {
    chat(text) {
      chatId += 1;
      channel.send(JSON.stringify({ type: 'chat', id: chatId, text }));
    },
    end() {
      send({ type: 'endCall', call, outcome: 'served' });
    },
  };

  // A second offer on the same call renegotiates (an ICE restart after the path broke).
  async function renegotiate(offerSdp) {
    await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
    const description = await pc.createAnswer();
    await pc.setLocalDescription(description);
    send({ type: 'signal', call, to: kiosk, payload: { kind: 'answer', sdp: description.sdp } });
    report({ event: 'renegotiated' });
  }

  async function answer(offerSdp) {
    pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: relayOnly ? 'relay' : 'all' });
    const media = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360, frameRate: 30 }, audio: true });
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && candidate.candidate) {
        send({
          type: 'signal', call, to: kiosk,
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
    };
    pc.onconnectionstatechange = () => report({ event: 'connection', state: pc.connectionState });
    pc.ondatachannel = ({ channel: opened }) => {
      channel = opened;
      if (channel.readyState === 'open') report({ event: 'channelOpen' });
      else channel.onopen = () => report({ event: 'channelOpen' });
      channel.onmessage = ({ data }) => {
        const message = JSON.parse(data);
        if (message.type === 'chat') {
          report({ event: 'chat', text: message.text });
          channel.send(JSON.stringify({ type: 'chatSeen', id: message.id }));
        } else if (message.type === 'chatSeen') {
          report({ event: 'chatSeen', id: message.id });
        }
      };
    };
    await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
    for (const transceiver of pc.getTransceivers()) {
      const track = media.getTracks().find((t) => t.kind === transceiver.receiver.track.kind);
      if (track) {
        await transceiver.sender.replaceTrack(track);
        transceiver.direction = 'sendrecv';
      }
    }
    const description = await pc.createAnswer();
    await pc.setLocalDescription(description);
    send({ type: 'signal', call, to: kiosk, payload: { kind: 'answer', sdp: description.sdp } });
    statsTimer = setInterval(reportStats, 500);
  }

  async function reportStats() {
    if (!pc) return;
    const stats = await pc.getStats();
    const summary = {
      event: 'stats', at: Date.now(), framesDecoded: 0, frameWidth: 0, framesPerSecond: 0,
      audioSamples: 0, audioBytes: 0, audioEnergy: 0, concealedSamples: 0, candidateType: null,
    };
    const candidates = new Map();
    stats.forEach((s) => { if (s.type === 'local-candidate') candidates.set(s.id, s.candidateType); });
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
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
        summary.candidateType = candidates.get(s.localCandidateId) || null;
      }
    });
    report(summary);
  }

  socket.onopen = () => send({ type: 'hello', protocolVersion: 1 });
  socket.onclose = (e) => report({ event: 'socketClosed', code: e.code, reason: e.reason });
  // One message at a time: a candidate must wait until the offer it belongs to is applied.
  let handled = Promise.resolve();
  socket.onmessage = ({ data }) => {
    const message = JSON.parse(data);
    handled = handled.then(() => handle(message)).catch((e) => report({ event: 'error', message: String(e) }));
  };
  async function handle(message) {
    switch (message.type) {
      case 'welcome':
        iceServers = message.iceServers;
        send({ type: 'setStatus', status: 'available' });
        report({ event: 'available' });
        break;
      case 'queues':
        report({ event: 'queues', waiting: message.queues.reduce((n, q) => n + (q.waiting || []).length, 0) });
        break;
      case 'offer':
        report({ event: 'offer', visit: message.visit });
        send({ type: 'acceptOffer', offer: message.offer });
        break;
      case 'callStarted':
        call = message.call;
        kiosk = { kind: 'kiosk', kiosk: message.kiosk };
        report({ event: 'callStarted', call });
        break;
      case 'signal':
        if (message.payload.kind === 'offer' && pc) {
          await renegotiate(message.payload.sdp);
        } else if (message.payload.kind === 'offer') {
          await answer(message.payload.sdp);
        } else if (message.payload.kind === 'candidate' && pc) {
          await pc.addIceCandidate({
            candidate: message.payload.candidate,
            sdpMid: message.payload.sdpMid,
            sdpMLineIndex: message.payload.sdpMLineIndex,
          });
        }
        break;
      case 'callEnded':
        clearInterval(statsTimer);
        if (pc) pc.close();
        report({ event: 'callEnded', outcome: message.outcome });
        break;
      case 'error':
        report({ event: 'brokerError', message: message.message });
        break;
      default:
        break;
    }
  }
};
