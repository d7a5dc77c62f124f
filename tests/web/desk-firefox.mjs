// The desk's main story in Firefox ESR (Debian's firefox-esr), as an officer on an agency
// desktop whose browser is Firefox would live it: log in, go available, answer a citizen at a
// real headless kiosk by clicking (Firefox under automation has no window focus, so no Enter),
// see the citizen's video, chat both ways, receive a scanned document, and end the meeting.
// Driven by puppeteer-core over WebDriver BiDi, with no downloaded browser or driver.
//
// While the citizen's video plays, the page's own peer connection is asked for its statistics
// (`getStats`) over 10 s: how many frames Firefox decoded a second.
//
// Progress goes to stdout as JSON lines, ending with `passed` or `failed`.
//
// node desk-firefox.mjs --broker https://localhost:PORT --kiosk http://127.0.0.1:PORT \
//   --password PASSWORD --artefacts DIR
import puppeteer from 'puppeteer-core';
import { firefoxOptions } from './firefox.mjs';
import { kioskApi, keepPeerConnections, requiredOption } from './stories.mjs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

const broker = requiredOption('broker');
const password = requiredOption('password');
const artefacts = requiredOption('artefacts');
// Waits for what a person would see: media and scans may take a while on a loaded machine.
const PATIENCE = 30_000;
const SCAN_PATIENCE = 60_000;
/** How long the frame rate is measured over. */
const FPS_WINDOW_MS = 10_000;

const print = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const step = (name) => print({ event: 'step', name });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
await mkdir(artefacts, { recursive: true });

const { kiosk, kioskUntil } = kioskApi(requiredOption('kiosk'), PATIENCE);

const browser = await puppeteer.launch(firefoxOptions);
const page = await browser.newPage();
const pageErrors = [];
page.on('pageerror', (error) => pageErrors.push(String(error)));
await page.setViewport({ width: 1366, height: 900 });
// The desk's peer connections, kept where the test can ask them for statistics.
await page.evaluateOnNewDocument(keepPeerConnections);

async function until(what, predicate, arg, timeout = PATIENCE) {
  try {
    await page.waitForFunction(predicate, { timeout, polling: 200 }, arg);
  } catch (error) {
    await page.screenshot({ path: join(artefacts, `failed-${what.replace(/\W+/g, '-')}.png`), fullPage: true }).catch(() => {});
    throw new Error(`never saw ${what}: ${error.message.split('\n')[0]}`);
  }
}

/** Clicks the visible button whose text is `text`, inside `within` (a CSS selector). */
async function clickButton(text, within = 'body') {
  await until(`the button ${text}`, ([scope, label]) =>
    [...document.querySelectorAll(`${scope} button`)].some((b) => b.textContent.trim() === label && !b.disabled), [within, text]);
  const buttons = await page.$$(`${within} button`);
  for (const button of buttons) {
    if ((await button.evaluate((b) => b.textContent.trim())) === text) {
      await button.click();
      return;
    }
  }
  throw new Error(`no button ${text}`);
}

/** Frames the kiosk's video decoded so far, from the connection that receives it. */
async function framesDecoded() {
  return page.evaluate(async () => {
    let frames = 0;
    for (const pc of window.peerConnections) {
      if (pc.connectionState === 'closed') continue;
      const stats = await pc.getStats();
      stats.forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') frames = Math.max(frames, s.framesDecoded ?? 0);
      });
    }
    return frames;
  });
}

try {
  step('the officer logs in and goes available');
  await page.goto(broker);
  await page.waitForSelector('input[name=username]');
  await page.type('input[name=username]', 'anna.csn');
  await page.type('input[name=password]', password);
  await page.click('form.login button[type=submit]');
  await page.waitForSelector('.page-header .who', { timeout: PATIENCE });
  await clickButton('Tillgänglig', '.status-choice');
  await until('the status available', () => document.querySelector('.status-choice [aria-pressed=true]')?.textContent === 'Tillgänglig');

  step('a citizen starts a visit; the officer answers by clicking');
  await kiosk('/visit', { language: 'sv', agency: 'csn' });
  await page.waitForSelector('[role=alertdialog]', { timeout: PATIENCE });
  await clickButton('Svara', '.offer');

  step('the officer sees the citizen');
  await until('the citizen on video', () => {
    const video = document.querySelector('.remote-main');
    return video instanceof HTMLVideoElement && video.videoWidth > 0 && video.currentTime > 0.5;
  });
  await kioskUntil("the officer's picture at the kiosk", (s) =>
    (s.peers[0]?.received ?? []).some((track) => track.width > 0 && track.decoded > 0));

  step("Firefox's frame rate of the kiosk's video, over 10 s");
  const before = { frames: await framesDecoded(), at: Date.now() };
  await sleep(FPS_WINDOW_MS);
  const after = { frames: await framesDecoded(), at: Date.now() };
  const fps = ((after.frames - before.frames) * 1000) / (after.at - before.at);
  print({ event: 'fps', fps: Math.round(fps * 10) / 10, frames: after.frames - before.frames, ms: after.at - before.at });
  await page.screenshot({ path: join(artefacts, 'firefox-officer-call.png'), fullPage: true });

  step('chat both ways');
  await page.type('input[name=chat]', 'Hej! Kan du stava ditt efternamn?');
  await clickButton('Skicka', '.chat-form');
  await kioskUntil("the officer's chat line", (s) => s.chat.some((line) => line.text === 'Hej! Kan du stava ditt efternamn?'));
  await until('the chat line marked seen', () => document.querySelector('.chat-log li.me .seen')?.textContent.includes('läst'));
  await kiosk('/chat', { text: 'H-A-D-D-A-D' });
  await until("the citizen's chat line", () => document.querySelector('.chat-log li.citizen')?.textContent.includes('H-A-D-D-A-D'));

  step('the officer asks for a document; the citizen scans and sends it');
  await clickButton('Be om ett dokument', '.actions');
  await kioskUntil('the request for a document', (s) => s.documentRequestedBy !== null);
  await kiosk('/document/scan', {});
  await kioskUntil('the scanned page', (s) => !s.document.scanning && s.document.pages.length === 1, SCAN_PATIENCE);
  await kiosk('/document/send', {});
  await until('the page, checked, in the viewer', () => {
    const image = document.querySelector('.viewer img');
    return image instanceof HTMLImageElement && image.complete && image.naturalWidth > 1000
      && document.querySelector('.document-list .tag.complete') !== null;
  }, undefined, SCAN_PATIENCE);
  await page.screenshot({ path: join(artefacts, 'firefox-officer-document.png'), fullPage: true });

  step('the officer ends the meeting');
  await page.select('select[name=outcome]', 'served');
  await clickButton('Avsluta', '.actions');
  await until('the call ended', () => document.querySelector('.call') === null);
  await kioskUntil('the end of the visit', (s) => s.visit.phase === 'ended');
  await kiosk('/visit/reset', {});

  if (pageErrors.length > 0) throw new Error(`the page threw: ${pageErrors.join('; ')}`);
  print({ event: 'passed' });
} catch (error) {
  await page.screenshot({ path: join(artefacts, 'firefox-failed.png'), fullPage: true }).catch(() => {});
  print({ event: 'failed', message: String(error?.stack ?? error), pageErrors });
  process.exitCode = 1;
} finally {
  await browser.close();
}
