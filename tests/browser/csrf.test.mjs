// Request hygiene of the web pages, from a real browser context: the
// same-origin gate on form posts, and what Chromium really sends.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, newContext } from "./lib/browser.mjs";
import { startSystem, screenshots, text } from "./lib/harness.mjs";

let sys;
let browser;
before(async () => {
  sys = await startSystem("csrf");
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await sys?.stop();
});

test("a post from another origin is refused with 403", async () => {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  await page.goto(sys.url + "/signin");
  const evil = await page.request.post(sys.url + "/signout", { headers: { Origin: "https://evil.example" }, maxRedirects: 0 });
  assert.equal(evil.status(), 403);
  assert.match(await evil.text(), /cross-site form posts are refused/);
  const plainHttp = await page.request.post(sys.url + "/signout", { headers: { Origin: sys.url.replace("https:", "http:") }, maxRedirects: 0 });
  assert.equal(plainHttp.status(), 403, "an http:// origin is another origin");
  const same = await page.request.post(sys.url + "/signout", { headers: { Origin: sys.url }, maxRedirects: 0 });
  assert.equal(same.status(), 303, "the same origin passes the gate");
  const csp = (await page.goto(sys.url + "/signin")).headers()["content-security-policy"];
  assert.match(csp, /form-action 'self'/);
  await context.close();
});

// The browser exactly as configured, over HTTP/2: our own form posts carry
// a real Origin (Referrer-Policy: same-origin) checked against :authority.
test("a form post from the server's own page is accepted", async (t) => {
  const shot = screenshots("csrf");
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const seen = {};
  page.on("request", async (r) => {
    if (r.method() === "POST") seen.origin = (await r.allHeaders()).origin;
  });
  await page.goto(sys.url + "/signin");
  seen.protocol = await page.evaluate(() => performance.getEntriesByType("navigation")[0].nextHopProtocol);
  await page.fill("#username", "alice");
  const [resp] = await Promise.all([page.waitForNavigation(), page.click("#next")]);
  t.diagnostic(`protocol ${seen.protocol}, Origin sent: ${seen.origin}, status ${resp.status()}`);
  await shot(page, "own-form-post");
  assert.equal(resp.status(), 200, `own form post refused: ${await text(page.locator("body"))}`);
  assert.ok(await page.locator("#password").isVisible());
  await context.close();
});
