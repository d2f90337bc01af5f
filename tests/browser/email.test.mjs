// 3. Backup email: set it, verify it through the mailed link, then sign in
// with a mailed 8-digit code from "other sign-in methods"; a wrong code is
// refused.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, newContext } from "./lib/browser.mjs";
import { startSystem, screenshots, signInWithPassword, text, totp } from "./lib/harness.mjs";

let sys;
let browser;
before(async () => {
  sys = await startSystem("email");
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await sys?.stop();
});

test("sign in with a backup email code", async () => {
  const shot = screenshots("email");
  await sys.createUser({ username: "bob", password: "Correct-Horse-42", method: "password", admin: false, groups: [], enforce_2sv: false });
  const page = await (await newContext(browser)).newPage();
  await signInWithPassword(page, sys.url, "bob", "Correct-Horse-42");

  // Backup email: saved, then verified through the mailed link.
  await page.fill("#email", "bob@example.com");
  await Promise.all([page.waitForNavigation(), page.click("#email-save")]);
  assert.match(await text(page.locator("#info")), /verification link/);
  assert.match(await text(page.locator("#email-state")), /Waiting for verification/);
  await shot(page, "email-saved");
  const verify = await sys.mail(1);
  assert.deepEqual(verify.to, ["bob@example.com"]);
  const link = verify.body.match(/https:\/\/\S+\/account\/email\/verify\?token=\S+/)?.[0];
  assert.ok(link, verify.body);
  const linkPage = await page.context().newPage();
  await linkPage.goto(link);
  await shot(linkPage, "verify-link");
  await Promise.all([linkPage.waitForNavigation(), linkPage.click("#verify-email")]);
  assert.match(await text(linkPage.locator("#info")), /Backup email verified/);
  await shot(linkPage, "email-verified");
  await linkPage.close();
  await page.reload();
  assert.match(await text(page.locator("#email-state")), /Verified/);

  // A second step to fall back from: an authenticator app, used for sign-in.
  await Promise.all([page.waitForNavigation(), page.click("#otp-start")]);
  const secret = (await text(page.locator("#otp-secret"))).replace(/\s+/g, "");
  const phone = sys.phone("bob-phone");
  await phone.run("add", `otpauth://totp/Home%20NAS:bob?secret=${secret}&issuer=Home%20NAS`);
  await page.fill("#otp-code", (await totp(phone, "bob")).code);
  await Promise.all([page.waitForNavigation(), page.click("#otp-confirm")]);
  await page.check("#method-otp");
  await Promise.all([page.waitForNavigation(), page.click("#method-save")]);
  assert.equal(new URL(page.url()).pathname, "/signin");
  // Both 2-step changes are announced to the verified backup address.
  const notices = [await sys.mail(2), await sys.mail(3)];
  for (const n of notices) assert.deepEqual(n.to, ["bob@example.com"]);
  assert.match(notices.map((n) => n.subject + " " + n.body).join("\n"), /authenticator app/i);
  const before = sys.mails().length;

  // Phone lost: password, then "Other sign-in methods" → email.
  await signInWithPassword(page, sys.url, "bob", "Correct-Horse-42");
  assert.ok(await page.locator("#code").isVisible(), "the authenticator code is asked first");
  await page.click("summary:has-text('Other sign-in methods')");
  await shot(page, "other-methods");
  await Promise.all([page.waitForNavigation(), page.click("#method-email")]);
  assert.match(await text(page.locator("main")), /b\S*@example\.com/);
  await Promise.all([page.waitForNavigation(), page.click("#send-code")]);
  assert.match(await text(page.locator("#info")), /We sent a code/);
  await shot(page, "code-sent");
  const mail = await sys.mail(before + 1);
  assert.deepEqual(mail.to, ["bob@example.com"]);
  const code = mail.body.match(/one-time code: (\d{8})/)?.[1];
  assert.ok(code, mail.body);

  // A wrong code first (one that differs from the real one in every digit).
  const wrong = [...code].map((d) => String((Number(d) + 1) % 10)).join("");
  await page.fill("#email-code", wrong);
  await Promise.all([page.waitForNavigation(), page.click("#verify-email-code")]);
  assert.match(await text(page.locator("#error")), /Wrong or expired code/);
  await shot(page, "wrong-code");

  await page.fill("#email-code", code);
  await Promise.all([page.waitForNavigation(), page.click("#verify-email-code")]);
  assert.equal(new URL(page.url()).pathname, "/account");
  assert.equal(await text(page.locator("#two-step-status")), "enabled");
  await shot(page, "account-after-email-code");
});
