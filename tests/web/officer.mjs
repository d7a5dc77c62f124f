// Drives one officer's browser for the end-to-end tests: headless Debian Chromium with its fake
// camera and microphone, on the broker's origin, running officer-page.js. It prints what the
// officer would see as JSON lines on stdout and takes commands on stdin: `chat <text>`,
// `answer` (with `--answer-by-command` or after `answerBy command`; otherwise, or after
// `answerBy offer`, an offer is answered as it rings),
// `end`, `leave` (a call that goes on without us), `invite <language>` (an interpreter),
// `inviteOfficer <agency>` (a colleague of another agency), `askDocument`, `available`, `holdSignals` and `releaseSignals` (a slow
// network: signalling from the broker waits), `quit`.
//
// node officer.mjs --broker https://localhost:PORT --user anna.csn [--relay-only]
//   [--proxy http://HOST:PORT]  (all traffic through an HTTP proxy, WebRTC's too, as an
//   agency desktop whose only way out is its proxy; no UDP that bypasses it)
import { chromium } from 'playwright-core';
import { chromiumOptions } from './chromium.mjs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const broker = option('broker');
const username = option('user');
const password = option('password') || 'demo';
const relayOnly = args.includes('--relay-only');
const answerByCommand = args.includes('--answer-by-command');
// Send wall-clock marks instead of the fake camera's picture, and watch for them.
const marker = args.includes('--marker');
// The camera size asked for, e.g. `--video 1280x720`.
const [width, height] = (option('video') || '640x360').split('x').map(Number);
const print = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);

const here = dirname(fileURLToPath(import.meta.url));
const proxy = option('proxy');
const launchOptions = proxy
  ? {
      ...chromiumOptions,
      proxy: { server: proxy },
      args: [
        ...chromiumOptions.args,
        '--force-webrtc-ip-handling-policy=disable_non_proxied_udp',
        // TURN over TLS is checked against the system's trust store, which an agency's
        // desktop has the broker's CA in and this throwaway profile does not.
        '--ignore-certificate-errors',
      ],
    }
  : chromiumOptions;
// Playwright gives every launch a fresh, empty profile of its own.
const browser = await chromium.launch(launchOptions);
const context = await browser.newContext({ ignoreHTTPSErrors: true, permissions: ['camera', 'microphone'] });
const page = await context.newPage();
page.on('pageerror', (e) => print({ event: 'error', message: String(e) }));
await page.exposeFunction('report', (json) => print(JSON.parse(json)));
await page.goto(`${broker}/healthz`);
await page.addScriptTag({ content: await readFile(join(here, 'officer-page.js'), 'utf8') });
await page.evaluate((settings) => window.startOfficer(settings), { username, password, relayOnly, marker, answerByCommand, video: { width, height } });

const commands = createInterface({ input: process.stdin });
for await (const line of commands) {
  const [command, ...rest] = line.trim().split(' ');
  if (command === 'answer') await page.evaluate(() => window.officer.answer());
  if (command === 'answerBy') await page.evaluate((mode) => window.officer.answerBy(mode), rest[0]);
  if (command === 'chat') await page.evaluate((text) => window.officer.chat(text), rest.join(' '));
  if (command === 'end') await page.evaluate(() => window.officer.end());
  if (command === 'leave') await page.evaluate(() => window.officer.leave());
  if (command === 'inviteOfficer') await page.evaluate((agency) => window.officer.inviteOfficer(agency), rest[0]);
  if (command === 'invite') await page.evaluate((language) => window.officer.inviteInterpreter(language), rest[0]);
  if (command === 'available') await page.evaluate(() => window.officer.available());
  if (command === 'askDocument') await page.evaluate(() => window.officer.askDocument());
  if (command === 'holdSignals') await page.evaluate(() => window.officer.holdSignals());
  if (command === 'releaseSignals') await page.evaluate(() => window.officer.releaseSignals());
  if (command === 'quit') break;
}
await browser.close();
print({ event: 'closed' });
process.exit(0);
