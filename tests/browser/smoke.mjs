// Smoke check for the browser-test setup (tools/browser-setup.sh first):
// launches Chromium via lib/browser.mjs, loads a data: page, reads its title,
// takes a screenshot into a temp folder, closes. Last line: `browser smoke: ok ...`.
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchWithProfile } from './lib/browser.mjs';

const started = Date.now();
const { browser, context, userDataDir, close } = await launchWithProfile();
try {
  const page = await context.newPage();
  const html = '<!doctype html><title>countersign smoke</title><h1>Hello from Countersign</h1>';
  await page.goto('data:text/html,' + encodeURIComponent(html));
  const title = await page.title();
  if (title !== 'countersign smoke') throw new Error(`unexpected title: ${JSON.stringify(title)}`);
  const shotDir = await mkdtemp(join(tmpdir(), 'countersign-shot-'));
  const shot = join(shotDir, 'smoke.png');
  await page.screenshot({ path: shot });
  const { size } = await stat(shot);
  if (size < 100) throw new Error(`screenshot too small: ${size} bytes`);
  console.log(`chromium ${browser ? browser.version() : '?'}, profile ${userDataDir}`);
  console.log(`browser smoke: ok title=${JSON.stringify(title)} screenshot=${shot} (${size} bytes) in ${Date.now() - started} ms`);
} finally {
  await close();
}
