// The desk's WebSocket to the broker: says hello, hands each message on in order (a candidate
// must wait for the offer before it to be applied), and after a drop or a broker restart
// reconnects by itself, with backoff and jitter. The call's media does not depend on this
// socket: peer connections keep running while it reconnects, and on return the broker tells
// the desk about the call it is still in.
import { PROTOCOL_VERSION, type BrokerToDesk, type DeskToBroker, type RequestId } from '../protocol/protocol';

export type LinkState = 'connecting' | 'open' | 'reconnecting' | 'loggedOut';

const MAX_BACKOFF_MS = 15_000;
/** Requests remembered so that a refusal can say what it refused; older ones are forgotten. */
const REQUESTS_KEPT = 64;

export class DeskSocket {
  private socket: WebSocket | null = null;
  private attempts = 0;
  private handled: Promise<void> = Promise.resolve();
  private stopped = false;
  private nextRequest = 0;
  private readonly requests = new Map<RequestId, DeskToBroker>();

  constructor(
    private readonly onMessage: (message: BrokerToDesk) => Promise<void> | void,
    private readonly onState: (state: LinkState, retryInSeconds?: number) => void,
  ) {}

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    this.socket?.close(1000, 'logged out');
  }

  /** Sends `message` with a fresh request id, which the broker names if it refuses it. */
  send(message: DeskToBroker): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.nextRequest += 1;
    const requestId: RequestId = `d${this.nextRequest}`;
    this.requests.set(requestId, message);
    if (this.requests.size > REQUESTS_KEPT) {
      const oldest = this.requests.keys().next().value;
      if (oldest !== undefined) this.requests.delete(oldest);
    }
    this.socket.send(JSON.stringify({ ...message, requestId }));
    return true;
  }

  /** The request a refusal names, if this desk still remembers it. */
  request(id: RequestId | undefined): DeskToBroker | undefined {
    return id === undefined ? undefined : this.requests.get(id);
  }

  private open(): void {
    this.onState(this.attempts === 0 ? 'connecting' : 'reconnecting');
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${location.host}/ws/desk`);
    this.socket = socket;
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: 'hello', protocolVersion: PROTOCOL_VERSION } satisfies DeskToBroker));
    };
    socket.onmessage = ({ data }) => {
      let message: BrokerToDesk;
      try {
        message = JSON.parse(String(data)) as BrokerToDesk;
      } catch {
        console.error('the broker sent something that is not JSON');
        return;
      }
      if (message.type === 'welcome') {
        this.attempts = 0;
        this.onState('open');
      }
      this.handled = this.handled
        .then(() => this.onMessage(message))
        .catch((error: unknown) => console.error('handling', message.type, error));
    };
    socket.onclose = () => {
      if (this.socket !== socket || this.stopped) return;
      void this.retry();
    };
  }

  private async retry(): Promise<void> {
    // A refused upgrade looks like any other drop: ask whether the session still holds.
    try {
      const me = await fetch('/api/me', { credentials: 'same-origin' });
      if (me.status === 401) {
        this.onState('loggedOut');
        return;
      }
    } catch {
      // The broker is unreachable; keep trying.
    }
    this.attempts += 1;
    const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(this.attempts, 5));
    const delay = base / 2 + Math.random() * (base / 2);
    this.onState('reconnecting', Math.ceil(delay / 1000));
    window.setTimeout(() => {
      if (!this.stopped) this.open();
    }, delay);
  }
}
