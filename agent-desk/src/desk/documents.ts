// Receiving a document from the kiosk over the data channel: first its manifest
// (`documentOffered`, each page's size and SHA-256), then binary frames, page after page:
//   "NP" | version 1 | 0 | document u32 | page u16 | offset u32 | bytes   (big-endian)
// A page counts only once its bytes hash to what the manifest says; then the kiosk is told
// (`pageReceived`) and may forget it. Nothing here touches the DOM: pages go to `onPage`.
import type { DocumentFailure, PageManifest, PeerMessage } from '../protocol/protocol';

const HEADER_BYTES = 14;

export interface ReceivedPage {
  document: number;
  page: number;
  manifest: PageManifest;
  blob: Blob;
}

export interface DocumentSink {
  offered(document: number, pages: number): void;
  page(page: ReceivedPage): void;
  complete(document: number): void;
  failed(document: number, reason: DocumentFailure, detail: string): void;
}

interface Assembly {
  document: number;
  manifest: PageManifest[];
  buffers: Uint8Array[];
  filled: number[];
  page: number;
  verified: number;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as BufferSource);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export class DocumentReceiver {
  private current: Assembly | null = null;

  constructor(
    private readonly reply: (message: PeerMessage) => void,
    private readonly sink: DocumentSink,
  ) {}

  offered(document: number, manifest: PageManifest[]): void {
    this.current = {
      document,
      manifest,
      buffers: manifest.map((p) => new Uint8Array(p.bytes)),
      filled: manifest.map(() => 0),
      page: 0,
      verified: 0,
    };
    this.sink.offered(document, manifest.length);
  }

  /** The kiosk gave up on a document (the citizen cancelled, the scanner failed). */
  failedByKiosk(document: number, reason: DocumentFailure): void {
    if (this.current?.document === document) this.current = null;
    this.sink.failed(document, reason, '');
  }

  /** The channel closed: a document still arriving never will. */
  closed(): void {
    const current = this.current;
    if (current && current.verified < current.buffers.length) {
      this.sink.failed(current.document, 'connectionLost', '');
    }
    this.current = null;
  }

  frame(buffer: ArrayBuffer): void {
    const view = new DataView(buffer);
    if (buffer.byteLength < HEADER_BYTES || view.getUint8(0) !== 0x4e || view.getUint8(1) !== 0x50 || view.getUint8(2) !== 1) {
      this.fail(this.current?.document ?? 0, 'protocolViolation', 'not a page frame');
      return;
    }
    const document = view.getUint32(4);
    const page = view.getUint16(8);
    const offset = view.getUint32(10);
    const data = new Uint8Array(buffer, HEADER_BYTES);
    const current = this.current;
    if (!current || current.document !== document) {
      this.fail(document, 'protocolViolation', 'a frame of a document that was not offered');
      return;
    }
    // The channel is ordered and reliable: each frame continues exactly where the last ended.
    const target = current.buffers[page];
    if (page !== current.page || !target || offset !== current.filled[page] || offset + data.length > target.length) {
      this.fail(document, 'protocolViolation', `page ${page + 1} at byte ${offset}`);
      return;
    }
    target.set(data, offset);
    current.filled[page] += data.length;
    if (current.filled[page] < target.length) return;
    current.page += 1;
    void this.verify(current, page);
  }

  private async verify(assembly: Assembly, page: number): Promise<void> {
    const bytes = assembly.buffers[page];
    const manifest = assembly.manifest[page];
    if ((await sha256Hex(bytes)) !== manifest.sha256) {
      this.fail(assembly.document, 'corrupted', `page ${page + 1}`);
      return;
    }
    if (this.current !== assembly) return;
    this.sink.page({
      document: assembly.document,
      page,
      manifest,
      blob: new Blob([bytes as BlobPart], { type: manifest.mediaType }),
    });
    this.reply({ type: 'pageReceived', document: assembly.document, page });
    assembly.verified += 1;
    if (assembly.verified === assembly.buffers.length) {
      this.current = null;
      this.sink.complete(assembly.document);
    }
  }

  private fail(document: number, reason: DocumentFailure, detail: string): void {
    this.reply({ type: 'documentFailed', document, reason });
    this.sink.failed(document, reason, detail);
    this.current = null;
  }
}
