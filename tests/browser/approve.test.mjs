// 1. Sign in with "approve on my phone": pair the phone from the account
// page, switch the method, sign in again and approve with the number shown.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, newContext } from "./lib/browser.mjs";
import { startSystem, screenshots, signInWithPassword, text } from "./lib/harness.mjs";

let sys;
let browser;
before(async () => {
  sys = await startSystem("approve");
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await sys?.stop();
});

test("sign in with approve on a paired phone", async () => {
  const shot = screenshots("approve");
  await sys.createUser({ username: "alice", password: "Correct-Horse-42", method: "password", admin: false, groups: [], enforce_2sv: false });
  const page = await (await newContext(browser)).newPage();

  // Password only: straight to the account page, 2-step off.
  await signInWithPassword(page, sys.url, "alice", "Correct-Horse-42");
  assert.equal(new URL(page.url()).pathname, "/account");
  assert.equal(await text(page.locator("#two-step-status")), "disabled");
  assert.ok(await page.locator("#method-approve").isDisabled(), "approve needs a phone first");
  await shot(page, "account-password-only");

  // Pair a phone: the page shows a QR code and the invitation text.
  await Promise.all([page.waitForNavigation(), page.click("#pair")]);
  await page.locator("#pair-qr").waitFor();
  const invite = await text(page.locator("#pair-uri"));
  assert.match(invite, /^countersign:\/\/pair\?/);
  await shot(page, "pair-qr");
  const phone = sys.phone("alice-phone");
  await phone.run("pair", invite, "--name", "test phone");
  await phone.run("settings", "--screen-lock-after-approve", "off");
  await page.goto(sys.url + "/account");
  assert.match(await text(page.locator("#devices")), /test phone/);

  // Switch to password + approve: signs out everywhere.
  await page.check("#method-approve");
  await shot(page, "choose-approve");
  await Promise.all([page.waitForNavigation(), page.click("#method-save")]);
  assert.equal(new URL(page.url()).pathname, "/signin");
  assert.match(await text(page.locator("#info")), /signed out everywhere/);
  await shot(page, "signed-out-after-change");
  const gone = await page.goto(sys.url + "/account");
  assert.equal(new URL(page.url()).pathname, "/signin", `old session must be gone (got ${gone.status()})`);

  // Sign in again: the second step shows a two-digit number.
  await signInWithPassword(page, sys.url, "alice", "Correct-Horse-42");
  assert.equal(new URL(page.url()).pathname, "/signin/verify");
  const number = await text(page.locator("#number"));
  assert.match(number, /^\d\d$/);
  await shot(page, "approve-number");

  // The phone sees the request but not the number: the user types what the
  // sign-in page shows. A mistyped number is refused and costs a try.
  const requests = await phone.json("requests", "--wait", "10");
  assert.equal(requests.length, 1, JSON.stringify(requests));
  const req = requests[0];
  assert.equal(req.choices, undefined, "the phone is never shown the number");
  assert.equal(req.tries_left, 3);
  assert.match(req.client, /HeadlessChrome|Chrome/, `parsed client, got ${req.client}`);
  const wrong = String((Number(number) + 1) % 100);
  await assert.rejects(phone.run("answer", req.request_id, "approve", "--number", wrong), /wrong number|2 tries left/i);
  const [again] = await phone.json("requests");
  assert.equal(again.tries_left, 2);
  await phone.run("answer", req.request_id, "approve", "--number", String(Number(number)));

  // The page's script notices and finishes the sign-in without a click.
  await page.waitForURL((u) => u.pathname === "/account", { timeout: 15_000 });
  assert.equal(await text(page.locator("#two-step-status")), "enabled");
  assert.match(await text(page.locator("#method-now")), /approve on my phone/);
  await shot(page, "account-after-approve");
});
