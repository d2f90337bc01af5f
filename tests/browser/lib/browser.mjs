// Launches Debian's Chromium (/usr/bin/chromium, installed by
// tools/browser-setup.sh) through playwright-core, which ships no browser of
// its own: headless, no sandbox (tests run as root), no GPU, no QUIC, and no
// background traffic (first run, sync, component updates) — without those
// flags Chromium floods the closed network.
//
// Profiles: `launchBrowser()` uses playwright's `launch()`, which always
// starts Chromium with a fresh temporary --user-data-dir of its own and
// deletes it on close (playwright refuses a --user-data-dir argument to
// launch()); every context made from it is isolated as well.
// `launchWithProfile()` makes the profile folder itself (mkdtemp) for
// callers that want to see it; smoke.mjs uses it.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.COUNTERSIGN_CHROMIUM || "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

/** A headless Chromium; close it with `await browser.close()`. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
}

/** A fresh context that accepts the test server's self-signed certificate. */
export async function newContext(browser) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  context.setDefaultTimeout(10_000);
  return context;
}

/**
 * Chromium with a profile folder made here: `{ browser, context,
 * userDataDir, close() }`; `close()` also removes the folder.
 */
export async function launchWithProfile() {
  const userDataDir = await mkdtemp(join(tmpdir(), "countersign-chromium-"));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
  } catch (e) {
    await rm(userDataDir, { recursive: true, force: true });
    throw e;
  }
  return {
    browser: context.browser(),
    context,
    userDataDir,
    async close() {
      try {
        await context.close();
      } finally {
        await rm(userDataDir, { recursive: true, force: true });
      }
    },
  };
}
