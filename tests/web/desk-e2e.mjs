// The agent-desk pages end to end, as their users would use them, in headless Debian Chromium
// against a real broker and a real headless kiosk (driven through its local API, as its touch
// screen would be). Each person has a browser of their own (own profile, own fake camera). An
// officer of CSN answers with the Enter key, sees the citizen, chats, keeps the call through a
// cut network, asks for a document, downloads it as PDF, zooms in and turns it (and the page's
// Content-Security-Policy refuses nothing, here or anywhere), invites an interpreter (asking
// twice is refused, and the desk says why in Swedish) whose desk connects to the kiosk and the
// officer while it rings, receiving nothing until it answers, who joins and leaves, and hands the visit
// over to Skatteverket, whose officer answers, ends it and books a later meeting. An
// administrator watches the fleet, runs a self-test, puts the kiosk out of service and back,
// finds the visit in the statistics, downloads the CSV, and sees the kiosk go offline when it
// is stopped. Both pages are looked at in English too.
//
// axe-core checks every page shown (WCAG 2.1 A and AA rules) and any violation fails the run;
// each page is saved as a screenshot in --artefacts. Progress goes to stdout as JSON lines;
// `{"need":"stopKiosk"}` asks the test harness to stop the kiosk, which answers `ok` on stdin.
//
// The first officer reaches the broker through a TCP proxy run here (--officer-proxy PORT), which
// is cut for a few seconds in the middle of the call, as a dropped network would be.
//
// node desk-e2e.mjs --broker https://localhost:PORT --kiosk http://127.0.0.1:PORT \
//   --officer-proxy PORT --artefacts DIR --password PASSWORD
import { chromium } from 'playwright-core';
import { chromiumOptions } from './chromium.mjs';
import { kioskApi, keepPeerConnections, requiredOption } from './stories.mjs';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { createServer, connect } from 'node:net';

const broker = requiredOption('broker');
const kioskBase = requiredOption('kiosk');
const artefacts = requiredOption('artefacts');
const password = requiredOption('password');
const proxyPort = Number(requiredOption('officer-proxy'));
// Waits for what a person would see: media and scans may take a while on a loaded machine.
const PATIENCE = 30_000;
const SCAN_PATIENCE = 60_000;

const print = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const step = (name) => print({ event: 'step', name });
const stdin = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function need(what) {
  print({ need: what });
  const { value } = await stdin.next();
  if (value?.trim() !== 'ok') throw new Error(`the harness did not do ${what}: ${value}`);
}


const axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
await mkdir(artefacts, { recursive: true });

// A TCP proxy to the broker that can be cut: every connection through it dropped, and new ones
// refused, until it is mended.
const proxy = (() => {
  const target = Number(new URL(broker).port);
  const open = new Set();
  let cut = false;
  let refused = 0;
  const server = createServer((client) => {
    if (cut) {
      refused += 1;
      client.destroy();
      return;
    }
    const upstream = connect(target, '127.0.0.1');
    open.add(client);
    open.add(upstream);
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  server.listen(proxyPort, '127.0.0.1');
  return {
    url: `https://localhost:${proxyPort}`,
    cut() {
      cut = true;
      refused = 0;
      for (const socket of open) socket.destroy();
    },
    /** Connections refused since the cut: the page trying to get back. */
    refused: () => refused,
    mend() {
      cut = false;
    },
    close() {
      server.close();
    },
  };
})();


// Each person has a browser of their own, as at their own desks.
const browsers = [];
const people = [];
const pageErrors = [];
async function person(name) {
  const browser = await chromium.launch(chromiumOptions);
  browsers.push(browser);
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    acceptDownloads: true,
    viewport: { width: 1366, height: 900 },
    permissions: ['camera', 'microphone', 'notifications'],
    locale: 'sv-SE',
  });
  // What the pages' Content-Security-Policy refuses, the browser only logs, and the page goes on
  // without it: kept here for refusedByPolicy.
  // The page's peer connections, kept where the story can ask them for statistics.
  await context.addInitScript(keepPeerConnections);
  await context.addInitScript(() => {
    window.refusedByPolicy = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      window.refusedByPolicy.push(`${event.effectiveDirective} refused ${event.blockedURI || 'inline'} ${event.sample}`.trim());
    });
  });
  const page = await context.newPage();
  people.push({ name, page });
  page.on('pageerror', (error) => pageErrors.push(`${name}: ${error}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().includes('401')) print({ event: 'console', who: name, text: message.text() });
  });
  return page;
}

/** axe-core on the page as it is now, then a screenshot of all of it. */
const checked = [];
async function check(page, name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
  await page.screenshot({ path: join(artefacts, `${name}.png`), fullPage: true });
  checked.push({ name, violations: result.violations.length, passes: result.passes.length });
  if (result.violations.length > 0) {
    const described = result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join('; ')}`);
    throw new Error(`accessibility violations on ${name}:\n${described.join('\n')}`);
  }
  print({ event: 'checked', page: name, passes: result.passes.length });
}

async function until(page, what, predicate, arg, timeout = PATIENCE) {
  try {
    await page.waitForFunction(predicate, arg, { timeout, polling: 200 });
  } catch (error) {
    await page.screenshot({ path: join(artefacts, `failed-${what.replace(/\W+/g, '-')}.png`), fullPage: true }).catch(() => {});
    throw new Error(`never saw ${what}: ${error.message.split('\n')[0]}`);
  }
}

const { kiosk, kioskUntil } = kioskApi(kioskBase, PATIENCE);

async function login(page, username, through = broker) {
  await page.goto(through);
  await page.getByLabel('Användarnamn').fill(username);
  await page.getByLabel('Lösenord').fill(password);
  await page.getByRole('button', { name: 'Logga in' }).click();
  await page.locator('.page-header .who').waitFor();
}

async function goAvailable(page) {
  await page.getByRole('button', { name: 'Tillgänglig' }).click();
  await until(page, 'the status available', () => document.querySelector('.status-choice [aria-pressed=true]')?.textContent === 'Tillgänglig');
}

/** A <video> matching `selector` that plays a picture. */
async function seesVideo(page, selector, what) {
  await until(page, what, (s) => {
    const video = document.querySelector(s);
    return video instanceof HTMLVideoElement && video.videoWidth > 0 && video.currentTime > 0.5;
  }, selector);
}

/** What the page's Content-Security-Policy refused since the page was loaded. */
async function refusedByPolicy(page) {
  return page.evaluate(() => window.refusedByPolicy);
}

/**
 * The scanned page as the officer sees it: its box on the screen, its computed transform, whether
 * the frame scrolls sideways, and whether every edge of the page can be scrolled into the frame.
 */
async function shownPage(page) {
  return page.evaluate(() => {
    const image = document.querySelector('.viewer img');
    const frame = document.querySelector('.page-frame');
    const outer = frame.getBoundingClientRect();
    const left = outer.left + frame.clientLeft;
    const top = outer.top + frame.clientTop;
    frame.scrollTo(0, 0);
    const start = image.getBoundingClientRect();
    frame.scrollTo(frame.scrollWidth, frame.scrollHeight);
    const end = image.getBoundingClientRect();
    frame.scrollTo(0, 0);
    return {
      width: start.width,
      height: start.height,
      transform: getComputedStyle(image).transform,
      scrolls: frame.scrollWidth > frame.clientWidth,
      reachable: start.left >= left - 1 && start.top >= top - 1
        && end.right <= left + frame.clientWidth + 1 && end.bottom <= top + frame.clientHeight + 1,
    };
  });
}

/** The angle in whole degrees of a computed transform that only turns ('none' is 0), else null. */
function turn(transform) {
  if (transform === 'none') return 0;
  const [a, b, c, d] = /^matrix\((.*)\)$/.exec(transform)?.[1].split(',').map(Number) ?? [];
  // A turn alone is matrix(cos, sin, -sin, cos, x, y).
  const close = (x, y) => Math.abs(x - y) < 0.001;
  if (![a, b, c, d].every(Number.isFinite) || !close(a, d) || !close(b, -c) || !close(a * a + b * b, 1)) return null;
  return (Math.round((Math.atan2(b, a) * 180) / Math.PI) + 360) % 360;
}

async function download(page, click) {
  const [file] = await Promise.all([page.waitForEvent('download', { timeout: PATIENCE }), click()]);
  const path = await file.path();
  const bytes = await readFile(path);
  await writeFile(join(artefacts, file.suggestedFilename()), bytes);
  return { name: file.suggestedFilename(), bytes };
}

try {
  step('the officer logs in');
  const officer = await person('officer');
  await officer.goto(proxy.url);
  await officer.getByLabel('Användarnamn').waitFor();
  await check(officer, '01-login');
  await officer.getByLabel('Användarnamn').fill('anna.csn');
  await officer.getByLabel('Lösenord').fill('wrong password');
  await officer.getByRole('button', { name: 'Logga in' }).click();
  await officer.getByText('Fel användarnamn eller lösenord.').waitFor();
  await check(officer, '01-login-wrong-password');
  await login(officer, 'anna.csn', proxy.url);
  await goAvailable(officer);
  await check(officer, '02-officer-available');

  step('the administrator sees the kiosk online');
  const admin = await person('admin');
  await login(admin, 'admin');
  await until(admin, 'the kiosk online in the fleet', () =>
    [...document.querySelectorAll('[data-kiosk-state]')].some((cell) => cell.textContent.includes('ansluten') && !cell.textContent.includes('inte')));
  await check(admin, '10-admin-fleet');

  step('a citizen starts a visit; the offer rings and is answered with Enter');
  await kiosk('/visit', { language: 'sv', agency: 'csn' });
  await officer.getByRole('alertdialog').waitFor({ timeout: PATIENCE });
  await check(officer, '03-officer-offer');
  await officer.keyboard.press('Enter');

  step('the officer sees the citizen');
  await seesVideo(officer, '.remote-main', 'the citizen on video');
  await until(officer, 'a measured connection quality', () => !document.querySelector('.quality')?.classList.contains('unknown'));
  const site = await officer.locator('#call-title').textContent();
  if (!site.includes('Rinkeby')) throw new Error(`the call does not name the kiosk's site: ${site}`);

  step('chat both ways');
  await officer.getByLabel('Skriv till besökaren').fill('Hej! Kan du stava ditt efternamn?');
  await officer.getByRole('button', { name: 'Skicka' }).click();
  await kioskUntil('the officer\'s chat line', (s) => s.chat.some((line) => line.text === 'Hej! Kan du stava ditt efternamn?'));
  await until(officer, 'the chat line marked seen', () => document.querySelector('.chat-log li.me .seen')?.textContent.includes('läst'));
  await kiosk('/chat', { text: 'H-A-D-D-A-D' });
  await until(officer, "the citizen's chat line", () => document.querySelector('.chat-log li.citizen')?.textContent.includes('H-A-D-D-A-D'));
  await check(officer, '04-officer-call');

  step("the officer's network drops for a while; the desk says so, reconnects, and the call goes on");
  proxy.cut();
  await until(officer, 'the lost-connection banner', () => {
    const banner = document.querySelector('.banner');
    return banner && !banner.hidden && banner.textContent.includes('bröts') && banner.textContent.includes('Samtalet fortsätter');
  });
  await check(officer, '04-officer-link-lost');
  // Mended only once the page has tried to get back and been refused.
  const deadline = Date.now() + PATIENCE;
  while (proxy.refused() === 0) {
    if (Date.now() > deadline) throw new Error('the page never tried to reconnect');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  proxy.mend();
  await until(officer, 'the desk reconnected', () => document.querySelector('.banner')?.hidden === true);
  const shown = await officer.evaluate(() => document.querySelector('.remote-main').currentTime);
  await until(officer, 'the picture still moving after the drop', (before) =>
    document.querySelector('.call') !== null && document.querySelector('.remote-main').currentTime > before + 1, shown);
  await officer.getByLabel('Skriv till besökaren').fill('Är du kvar?');
  await officer.getByRole('button', { name: 'Skicka' }).click();
  await kioskUntil('the chat line after the drop', (s) => s.chat.some((line) => line.text === 'Är du kvar?'));
  const stillInCall = await kiosk('/status');
  if (stillInCall.visit.phase !== 'inCall') throw new Error(`the visit did not stay in the call: ${JSON.stringify(stillInCall.visit)}`);

  step('the officer asks for a document; the citizen scans and sends it');
  await officer.getByRole('button', { name: 'Be om ett dokument' }).click();
  await kioskUntil('the request for a document', (s) => s.documentRequestedBy !== null);
  await kiosk('/document/scan', {});
  await kioskUntil('the scanned page', (s) => !s.document.scanning && s.document.pages.length === 1, SCAN_PATIENCE);
  await kiosk('/document/send', {});
  await until(officer, 'the page, checked, in the viewer', () => {
    const image = document.querySelector('.viewer img');
    return image instanceof HTMLImageElement && image.complete && image.naturalWidth > 1000
      && document.querySelector('.document-list .tag.complete') !== null;
  }, undefined, SCAN_PATIENCE);
  const source = await officer.locator('.viewer .source').textContent();
  if (!source.includes('Rinkeby')) throw new Error(`the document is not marked with its visit: ${source}`);
  const pdf = await download(officer, () => officer.getByRole('button', { name: 'Ladda ner dokumentet (PDF)' }).click());
  if (pdf.bytes.subarray(0, 5).toString() !== '%PDF-' || !pdf.bytes.includes('/DCTDecode')) {
    throw new Error(`the downloaded document is not a PDF with the scanned JPEG: ${pdf.name}, ${pdf.bytes.length} bytes`);
  }
  print({ event: 'pdf', name: pdf.name, bytes: pdf.bytes.length });

  step('D2: the officer zooms in on the page and turns it, and sees it so (the CSP refused the inline style before)');
  const upright = await shownPage(officer);
  if (turn(upright.transform) !== 0 || !upright.reachable) throw new Error(`the page is not shown upright in its frame: ${JSON.stringify(upright)}`);
  await officer.getByRole('button', { name: 'Förstora' }).click();
  await until(officer, 'the page shown larger', (width) => document.querySelector('.viewer img')?.getBoundingClientRect().width > width * 1.4, upright.width);
  const zoomed = await shownPage(officer);
  if (zoomed.height < upright.height * 1.4 || !zoomed.scrolls || !zoomed.reachable) {
    throw new Error(`the zoomed page cannot be seen all over by scrolling: ${JSON.stringify({ upright, zoomed })}`);
  }
  await officer.getByRole('button', { name: 'Vrid' }).click();
  await until(officer, 'the page turned', () => getComputedStyle(document.querySelector('.viewer img')).transform !== 'none');
  const turned = await shownPage(officer);
  // The zoom is the share of the frame's width the page takes, and a quarter turn keeps it: the
  // width stays (but for a scroll bar coming or going) and the shape is the zoomed one on its side.
  const sideways = (zoomed.height / zoomed.width) / (turned.width / turned.height);
  if (turn(turned.transform) !== 90 || Math.abs(turned.width / zoomed.width - 1) > 0.05 || Math.abs(sideways - 1) > 0.02 || !turned.reachable) {
    throw new Error(`the page is not shown turned a quarter: ${JSON.stringify({ zoomed, turned })}`);
  }
  // The viewer is drawn anew on each press; the keyboard's place must stay on the button.
  const focused = await officer.evaluate(() => document.activeElement?.getAttribute('data-action'));
  if (focused !== 'rotate') throw new Error(`after turning the page the focus went to ${focused}, not the button pressed`);
  const refused = await refusedByPolicy(officer);
  if (refused.length > 0) throw new Error(`the page's Content-Security-Policy refused:\n${refused.join('\n')}`);
  await check(officer, '05-officer-document');

  step('an interpreter is invited, joins and leaves');
  const interpreter = await person('interpreter');
  await login(interpreter, 'tolk.amir');
  await goAvailable(interpreter);
  await check(interpreter, '20-interpreter-waiting');
  await officer.locator('select[name=interpreterLanguage]').selectOption('ar');
  await officer.getByRole('button', { name: 'Bjud in tolk' }).click();
  await interpreter.getByRole('alertdialog').waitFor({ timeout: PATIENCE });
  // Asked twice, the broker refuses the second by its code, and the desk says which request
  // and why in the officer's language (never the broker's English).
  await officer.getByRole('button', { name: 'Bjud in tolk' }).click();
  await until(officer, 'the second invitation refused in Swedish', () => [...document.querySelectorAll('.notice.error')]
    .some((n) => n.textContent.includes('Inbjudan: En sådan inbjudan söker redan någon.')));
  const offerText = await interpreter.getByRole('alertdialog').textContent();
  if (!offerText.includes('arabiska')) throw new Error(`the interpreter's offer does not name the language: ${offerText}`);
  await check(interpreter, '21-interpreter-offer');
  // While it rings, the interpreter's desk connects to the kiosk and to the officer, and
  // receives nothing over either.
  await until(interpreter, 'two connections up while it rings', () =>
    window.peerConnections.filter((pc) => pc.connectionState === 'connected').length >= 2);
  // Long enough for media that should not flow to have started flowing.
  await interpreter.waitForTimeout(1500);
  const media = await interpreter.evaluate(async () => {
    let received = 0;
    let sent = 0;
    for (const pc of window.peerConnections) {
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp') received += s.bytesReceived ?? 0;
        if (s.type === 'outbound-rtp') sent += s.bytesSent ?? 0;
      });
    }
    return { received, sent };
  });
  if (media.received !== 0 || media.sent !== 0) {
    throw new Error(`a ringing interpreter's desk received ${media.received} and sent ${media.sent} bytes of media`);
  }
  await interpreter.getByRole('button', { name: 'Svara' }).click();
  await seesVideo(interpreter, '.remote-main', 'the citizen, for the interpreter');
  await seesVideo(interpreter, '.others video', 'the officer, for the interpreter');
  await seesVideo(officer, '.others video', 'the interpreter, for the officer');
  await until(officer, 'the interpreter among the participants', () => document.querySelector('.participants')?.textContent.includes('tolk'));
  await check(interpreter, '22-interpreter-call');
  await check(officer, '06-officer-with-interpreter');
  await interpreter.getByRole('button', { name: 'Lämna samtalet' }).click();
  await until(officer, 'the interpreter gone', () => document.querySelector('.others video') === null
    && [...document.querySelectorAll('.notice')].some((n) => n.textContent.includes('lämnade samtalet')));
  await until(interpreter, "the interpreter's call view gone", () => document.querySelector('.call') === null);

  step('the officer hands the visit over to Skatteverket (warm), whose officer answers and ends it');
  const colleague = await person('colleague');
  await login(colleague, 'maria.skatteverket');
  await goAvailable(colleague);
  await officer.locator('select[name=transferAgency]').selectOption('skatteverket');
  await officer.locator('select[name=transferMode]').selectOption('warm');
  await officer.getByRole('button', { name: 'Överlämna' }).click();
  await colleague.getByRole('alertdialog').waitFor({ timeout: PATIENCE });
  const transferText = await colleague.getByRole('alertdialog').textContent();
  if (!transferText.includes('CSN')) throw new Error(`the transferred offer does not say where it came from: ${transferText}`);
  await check(colleague, '30-colleague-offer');
  await colleague.getByRole('button', { name: 'Svara' }).click();
  await seesVideo(colleague, '.remote-main', 'the citizen, for the Skatteverket officer');
  await seesVideo(colleague, '.others video', 'the first officer, for the Skatteverket officer');
  await until(officer, 'the hand-over', () => [...document.querySelectorAll('.notice')].some((n) => n.textContent.includes('har tagit över')));
  await check(officer, '07-officer-handed-over');
  await officer.getByRole('button', { name: 'Lämna samtalet' }).click();
  await until(officer, "the first officer's call over", () => document.querySelector('.call') === null);
  await until(colleague, 'the first officer gone', () => document.querySelector('.others video') === null);
  await check(colleague, '31-colleague-call');
  await colleague.locator('select[name=outcome]').selectOption('served');
  await colleague.getByRole('button', { name: 'Avsluta' }).click();
  await until(colleague, 'the call ended', () => document.querySelector('.call') === null
    && [...document.querySelectorAll('.notice')].some((n) => n.textContent.includes('Samtalet är avslutat')));
  await kioskUntil('the end of the visit', (s) => s.visit.phase === 'ended');
  await kiosk('/visit/survey', { score: 5 });
  await kiosk('/visit/reset', {});

  step('a booking for later');
  await colleague.getByLabel('Datum och tid').fill('2031-05-12T10:30');
  await colleague.locator('form.booking select[name=language]').selectOption('ar');
  await colleague.getByLabel('Tolk behövs').check();
  await colleague.getByRole('button', { name: 'Boka', exact: true }).click();
  const code = await colleague.getByTestId('booking-code').textContent({ timeout: PATIENCE });
  if (!/^[A-Z0-9]{8}$/.test(code)) throw new Error(`no booking code: ${code}`);
  await check(colleague, '32-colleague-booking');

  step('the administrator finds the visit in the statistics and downloads the CSV');
  await admin.goto(`${broker}/#statistics`);
  await until(admin, 'the visit in the statistics', () =>
    [...document.querySelectorAll('table.statistics tbody tr')].some((row) => row.querySelector('th')?.dataset.group === 'rinkeby' && row.querySelector('th')?.textContent === 'Rinkeby'
      && Number(row.querySelector('td')?.textContent) >= 2));
  await check(admin, '11-admin-statistics');
  const csv = await download(admin, () => admin.getByRole('link', { name: 'Ladda ner CSV' }).click());
  const csvText = csv.bytes.toString();
  if (!csvText.split('\n')[0].includes('visits') || !csvText.includes('rinkeby')) {
    throw new Error(`the CSV lacks the visit: ${csvText.slice(0, 300)}`);
  }

  step('the administrator runs a self-test and puts the kiosk out of service and back');
  await admin.goto(`${broker}/#fleet`);
  await admin.locator('table.fleet a').first().click();
  await admin.getByRole('button', { name: 'Kör självtest' }).click();
  await until(admin, 'the self-test result', () =>
    document.querySelector('[data-testid=self-test]') !== null && !document.body.textContent.includes('Väntar på resultatet'), undefined, 60_000);
  await until(admin, 'recent heartbeats', () => document.querySelectorAll('table.heartbeats tbody tr').length > 0);
  await until(admin, "the kiosk's software version", () => /^\d+\.\d+/.test([...document.querySelectorAll('.facts dt')].find((dt) => dt.textContent === 'Version')?.nextElementSibling?.textContent ?? ''));
  await check(admin, '12-admin-kiosk');
  await admin.getByLabel('Meddelande som visas på kioskens skärm').fill('Kiosken är stängd för underhåll. Välkommen tillbaka i morgon.');
  await admin.getByRole('button', { name: 'Ta ur drift' }).click();
  await until(admin, 'the kiosk out of service', () => document.querySelector('[data-testid=kiosk-state]')?.textContent.includes('ur drift'));
  await kioskUntil('the out-of-service message', (s) => JSON.stringify(s).includes('stängd för underhåll'));
  await check(admin, '13-admin-kiosk-out-of-service');
  await admin.getByRole('button', { name: 'Ta i drift igen' }).click();
  await until(admin, 'the kiosk back in service', () => document.querySelector('[data-testid=kiosk-state]')?.textContent.includes('ansluten'));

  step('the other administration pages');
  await admin.goto(`${broker}/#enrol`);
  await admin.getByLabel('Kioskens namn').fill('Väntrummet');
  await admin.getByRole('button', { name: 'Skapa kod' }).click();
  await admin.getByTestId('enrolment-code').waitFor();
  await check(admin, '14-admin-enrol');
  await admin.goto(`${broker}/#directory`);
  await admin.getByRole('heading', { name: /Personer/ }).waitFor();
  await check(admin, '15-admin-directory');
  await admin.goto(`${broker}/#audit`);
  await admin.getByRole('heading', { name: 'Logg' }).waitFor();
  await check(admin, '16-admin-audit');

  step('the kiosk is stopped; the administrator sees it offline');
  await need('stopKiosk');
  await admin.goto(`${broker}/#fleet`);
  await until(admin, 'the kiosk offline with an alert', () =>
    [...document.querySelectorAll('[data-kiosk-state]')].some((cell) => cell.textContent.includes('inte ansluten'))
      && [...document.querySelectorAll('.alerts .alert')].some((alert) => alert.textContent.includes('Entré') && alert.textContent.includes('inte ansluten')), undefined, PATIENCE);
  await check(admin, '17-admin-fleet-offline');

  step('the pages in English');
  await admin.getByRole('button', { name: 'Switch to English' }).click();
  await admin.getByRole('heading', { name: /Kiosks/ }).waitFor();
  await check(admin, '18-admin-fleet-english');
  await officer.getByRole('button', { name: 'Switch to English' }).click();
  await officer.getByRole('button', { name: 'Available' }).waitFor();
  await check(officer, '08-officer-english');

  if (pageErrors.length > 0) throw new Error(`errors in the pages:\n${pageErrors.join('\n')}`);
  for (const { name, page } of people) {
    const refusedAtEnd = await refusedByPolicy(page);
    if (refusedAtEnd.length > 0) throw new Error(`the Content-Security-Policy refused on the ${name}'s page:\n${refusedAtEnd.join('\n')}`);
  }
  print({ event: 'passed', checked });
  await Promise.all(browsers.map((b) => b.close()));
  process.exit(0);
} catch (error) {
  print({ event: 'failed', message: String(error?.stack ?? error), pageErrors, checked });
  await Promise.all(browsers.map((b) => b.close().catch(() => {})));
  process.exit(1);
}

