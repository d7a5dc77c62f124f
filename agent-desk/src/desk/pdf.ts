// A received document as one PDF, each scanned page on a page of its own size (the kiosk
// scans at 300 dpi), for saving to the case. jsPDF is loaded only when someone asks for one.
import type { ReceivedPage } from './documents';

const SCAN_DPI = 300;
const POINTS_PER_INCH = 72;

export async function documentPdf(pages: ReceivedPage[], title: string): Promise<Blob> {
  const { jsPDF } = await import('jspdf');
  const size = (page: ReceivedPage): [number, number] => [
    (page.manifest.widthPx * POINTS_PER_INCH) / SCAN_DPI,
    (page.manifest.heightPx * POINTS_PER_INCH) / SCAN_DPI,
  ];
  const [first, ...rest] = pages;
  const [width, height] = size(first);
  const pdf = new jsPDF({ unit: 'pt', format: [width, height], orientation: width > height ? 'landscape' : 'portrait' });
  pdf.setProperties({ title, creator: 'Nära' });
  const place = async (page: ReceivedPage, w: number, h: number) => {
    const bytes = new Uint8Array(await page.blob.arrayBuffer());
    pdf.addImage(bytes, page.manifest.mediaType === 'image/png' ? 'PNG' : 'JPEG', 0, 0, w, h);
  };
  await place(first, width, height);
  for (const page of rest) {
    const [w, h] = size(page);
    pdf.addPage([w, h], w > h ? 'landscape' : 'portrait');
    await place(page, w, h);
  }
  return pdf.output('blob');
}
