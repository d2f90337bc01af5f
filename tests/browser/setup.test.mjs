// 5. A user with 2-step verification enforced is held on /setup until they
// enroll an authenticator app, then signs in with password + code.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, newContext } from "./lib/browser.mjs";
import { startSystem, screenshots, signInWithPassword, text, totp } from "./lib/harness.mjs";

let sys;
let browser;
before(async () => {
  sys = await startSystem("setup");
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await sys?.stop();
});

test("an enforced user is forced through setup", async () => {
  const shot = screenshots("setup");
  await sys.createUser({ username: "erin", password: "Correct-Horse-42", method: "password", admin: false, groups: [], enforce_2sv: true });
  assert.equal((await sys.users()).find((u) => u.username === "erin").two_step, "incomplete");
  const page = await (await newContext(browser)).newPage();
  await signInWithPassword(page, sys.url, "erin", "Correct-Horse-42");
  assert.equal(new URL(page.url()).pathname, "/setup");
  assert.ok(await page.locator("#setup-finish").isDisabled());
  await shot(page, "setup-required");
  await page.goto(sys.url + "/account");
  assert.equal(new URL(page.url()).pathname, "/setup", "the account page is out of reach");

  await Promise.all([page.waitForNavigation(), page.click("#otp-start")]);
  assert.equal(new URL(page.url()).pathname, "/setup");
  assert.ok(await page.locator("#otp-qr").isVisible());
  const secret = (await text(page.locator("#otp-secret"))).replace(/\s+/g, "");
  await shot(page, "setup-otp");
  const phone = sys.phone("erin-phone");
  await phone.run("add", `otpauth://totp/Home%20NAS:erin?secret=${secret}&issuer=Home%20NAS`);
  const enroll = await totp(phone, "erin");
  await page.fill("#otp-code", enroll.code);
  await Promise.all([page.waitForNavigation(), page.click("#otp-confirm")]);
  assert.equal(new URL(page.url()).pathname, "/setup");
  assert.ok(await page.locator("#setup-finish").isEnabled());
  await shot(page, "setup-ready");
  await Promise.all([page.waitForNavigation(), page.click("#setup-finish")]);
  assert.equal(new URL(page.url()).pathname, "/signin");
  assert.match(await text(page.locator("#info")), /2-step verification is on/);
  await shot(page, "setup-done");

  const fresh = await totp(phone, "erin", { afterStep: enroll.step });
  await signInWithPassword(page, sys.url, "erin", "Correct-Horse-42");
  await page.fill("#code", fresh.code);
  await Promise.all([page.waitForNavigation(), page.click("#verify")]);
  assert.equal(new URL(page.url()).pathname, "/account");
  assert.equal(await text(page.locator("#two-step-status")), "enabled");
  await shot(page, "account");
  assert.equal((await sys.users()).find((u) => u.username === "erin").two_step, "enabled");
});
