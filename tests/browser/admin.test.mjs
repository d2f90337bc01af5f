// 6. The admin page: an admin must set 2-step verification up first; then
// users with their 2-step status; enforcing a group makes its members
// without a second step "incomplete".
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, newContext } from "./lib/browser.mjs";
import { startSystem, screenshots, signInWithPassword, text, totp } from "./lib/harness.mjs";

let sys;
let browser;
before(async () => {
  sys = await startSystem("admin");
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await sys?.stop();
});

test("admin enforces 2-step verification for a group", async () => {
  const shot = screenshots("admin");
  await sys.createUser({ username: "root", password: "Correct-Horse-42", method: "password", admin: true, groups: [], enforce_2sv: false });
  await sys.createUser({ username: "dave", password: "Correct-Horse-42", method: "password", admin: false, groups: ["staff"], enforce_2sv: false });
  await sys.createUser({ username: "olga", password: "Correct-Horse-42", method: "password", admin: false, groups: ["ops"], enforce_2sv: false });
  const page = await (await newContext(browser)).newPage();

  // The admin flag needs 2-step verification: the password alone gives a
  // setup-only session, and /admin sends it back to setup.
  await signInWithPassword(page, sys.url, "root", "Correct-Horse-42");
  assert.equal(new URL(page.url()).pathname, "/setup");
  assert.equal(await text(page.locator("h1")), "Set up 2-step verification");
  await page.goto(sys.url + "/admin");
  assert.equal(new URL(page.url()).pathname, "/setup", "no admin page before 2-step setup");
  const adminApi = await page.request.get(sys.url + "/v1/admin/users");
  assert.equal(adminApi.status(), 401, "the session cookie is no admin API credential");
  await shot(page, "admin-setup-required");

  // Set up an authenticator app, finish setup, sign in with password + code.
  await Promise.all([page.waitForNavigation(), page.click("#otp-start")]);
  const secret = (await text(page.locator("#otp-secret"))).replace(/\s+/g, "");
  const phone = sys.phone("root-phone");
  await phone.run("add", `otpauth://totp/Home%20NAS:root?secret=${secret}&issuer=Home%20NAS`);
  const enroll = await totp(phone, "root");
  await page.fill("#otp-code", enroll.code);
  await Promise.all([page.waitForNavigation(), page.click("#otp-confirm")]);
  await Promise.all([page.waitForNavigation(), page.click("#setup-finish")]);
  assert.equal(new URL(page.url()).pathname, "/signin");
  const fresh = await totp(phone, "root", { afterStep: enroll.step });
  await signInWithPassword(page, sys.url, "root", "Correct-Horse-42");
  assert.equal(new URL(page.url()).pathname, "/signin/verify");
  await page.fill("#code", fresh.code);
  await Promise.all([page.waitForNavigation(), page.click("#verify")]);
  assert.equal(new URL(page.url()).pathname, "/account");

  await page.goto(sys.url + "/admin");
  assert.equal(await text(page.locator("h1")), "Administration");
  assert.equal(await text(page.locator("#user-root .status")), "enabled");
  for (const name of ["dave", "olga"]) {
    assert.equal(await text(page.locator(`#user-${name} .status`)), "disabled", name);
  }
  await shot(page, "admin-users");

  await page.fill("#group", "staff");
  await Promise.all([page.waitForNavigation(), page.click("#group-save")]);
  assert.equal(await text(page.locator("#info")), "Done.");
  assert.equal(await text(page.locator("#user-dave .status")), "incomplete");
  assert.equal(await text(page.locator("#user-olga .status")), "disabled");
  assert.match(await text(page.locator("#groups")), /staff/);
  await shot(page, "group-enforced");
  const users = await sys.users();
  assert.equal(users.find((u) => u.username === "dave").two_step, "incomplete");

  // The per-user form: enforce for olga.
  await Promise.all([page.waitForNavigation(), page.click("#user-olga button[value=enforce]")]);
  assert.match(await text(page.locator("#info")), /now required for olga/);
  assert.equal(await text(page.locator("#user-olga .status")), "incomplete");
  await shot(page, "user-enforced");

  // A cross-site post with the admin's cookies is refused; the session stays.
  const forged = await page.request.post(sys.url + "/signout", { headers: { Origin: "https://evil.example" } });
  assert.equal(forged.status(), 403);
  await page.goto(sys.url + "/admin");
  assert.equal(new URL(page.url()).pathname, "/admin", "still signed in");
});
