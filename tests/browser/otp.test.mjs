// 2. Sign in with an authenticator code: enroll on the account page (QR and
// text secret), confirm with a code the phone's core computes, switch the
// method, sign in with a fresh code; a replayed code is refused.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, newContext } from "./lib/browser.mjs";
import { startSystem, screenshots, signInWithPassword, text, totp } from "./lib/harness.mjs";

let sys;
let browser;
before(async () => {
  sys = await startSystem("otp");
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await sys?.stop();
});

test("sign in with an authenticator code; a replayed code is refused", async () => {
  const shot = screenshots("otp");
  await sys.createUser({ username: "alice", password: "Correct-Horse-42", method: "password", admin: false, groups: [], enforce_2sv: false });
  const page = await (await newContext(browser)).newPage();
  await signInWithPassword(page, sys.url, "alice", "Correct-Horse-42");
  assert.equal(new URL(page.url()).pathname, "/account");

  // Enroll: QR code and the key as text.
  await Promise.all([page.waitForNavigation(), page.click("#otp-start")]);
  assert.ok(await page.locator("#otp-qr").isVisible());
  const secret = (await text(page.locator("#otp-secret"))).replace(/\s+/g, "");
  assert.match(secret, /^[A-Z2-7]{16,}=*$/);
  await shot(page, "otp-enroll");
  const phone = sys.phone("alice-phone");
  await phone.run("add", `otpauth://totp/Home%20NAS:alice?secret=${secret}&issuer=Home%20NAS`);
  const enroll = await totp(phone, "alice");
  await page.fill("#otp-code", enroll.code);
  await Promise.all([page.waitForNavigation(), page.click("#otp-confirm")]);
  assert.match(await text(page.locator("#info")), /Authenticator app added/);
  assert.match(await text(page.locator("#otp-state")), /Set up/);
  await shot(page, "otp-confirmed");

  // Use it to sign in: changing the method signs out everywhere.
  await page.check("#method-otp");
  await Promise.all([page.waitForNavigation(), page.click("#method-save")]);
  assert.equal(new URL(page.url()).pathname, "/signin");
  assert.match(await text(page.locator("#info")), /signed out everywhere/);

  // The enrollment code's time step counts as used: wait for the next one.
  const fresh = await totp(phone, "alice", { afterStep: enroll.step });
  await signInWithPassword(page, sys.url, "alice", "Correct-Horse-42");
  assert.equal(new URL(page.url()).pathname, "/signin/verify");
  await page.fill("#code", fresh.code);
  await shot(page, "otp-code-entered");
  await Promise.all([page.waitForNavigation(), page.click("#verify")]);
  assert.equal(new URL(page.url()).pathname, "/account");
  assert.equal(await text(page.locator("#two-step-status")), "enabled");
  assert.match(await text(page.locator("#method-now")), /authenticator app/);
  await shot(page, "account-after-otp");

  // Sign out, then try the same code again while it is still in its window.
  await Promise.all([page.waitForNavigation(), page.click("#signout")]);
  assert.match(await text(page.locator("#info")), /signed out/);
  await signInWithPassword(page, sys.url, "alice", "Correct-Horse-42");
  await page.fill("#code", fresh.code);
  await Promise.all([page.waitForNavigation(), page.click("#verify")]);
  assert.equal(new URL(page.url()).pathname, "/signin/otp");
  assert.match(await text(page.locator("#error")), /already used/);
  await shot(page, "otp-replay-refused");
});
