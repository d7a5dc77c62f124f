// What the browser stories (desk-e2e.mjs, desk-firefox.mjs) share.
// The headless kiosk's local API as the browser stories use it, in place of its touch screen:
// `kiosk(path, body)` asks (GET without a body, POST with one), `kioskUntil` waits for what
// its status shows.
export function kioskApi(base, patience) {
  async function kiosk(path, body) {
    const response = await fetch(`${base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`kiosk ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async function kioskUntil(what, predicate, timeout = patience) {
    const deadline = Date.now() + timeout;
    let last = null;
    while (Date.now() < deadline) {
      last = await kiosk('/status');
      if (predicate(last)) return last;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`the kiosk never showed ${what}; last status ${JSON.stringify(last)}`);
  }

  return { kiosk, kioskUntil };
}

// Run in the page before its own scripts: every RTCPeerConnection it makes is kept in
// `window.peerConnections`, for the story to ask for statistics.
export function keepPeerConnections() {
  const Original = window.RTCPeerConnection;
  window.peerConnections = [];
  window.RTCPeerConnection = class extends Original {
    constructor(...settings) {
      super(...settings);
      window.peerConnections.push(this);
    }
  };
}

// The value after `--NAME` on the command line; the story cannot run without it.
export function requiredOption(name) {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  if (i < 0) throw new Error(`--${name} is required`);
  return args[i + 1];
}
