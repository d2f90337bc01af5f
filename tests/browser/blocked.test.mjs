// 4. Address block: three wrong passwords block 127.0.0.1; then every
// attempt (a correct password for another user, an unknown username) gets
// the same page; the admin unblocks it and sign-in works again.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, newContext } from "./lib/browser.mjs";
import { startSystem, screenshots, signInWithPassword, text } from "./lib/harness.mjs";

let sys;
let browser;
before(async () => {
  sys = await startSystem("blocked");
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await sys?.stop();
});

test("three wrong passwords block the address until an admin unblocks it", async () => {
  const shot = screenshots("blocked");
  for (const username of ["bob", "carol"]) {
    await sys.createUser({ username, password: "Correct-Horse-42", method: "password", admin: false, groups: [], enforce_2sv: false });
  }
  const context = await newContext(browser);
  // Carol had her password page open before the block.
  const carol = await context.newPage();
  await carol.goto(sys.url + "/signin");
  await carol.fill("#username", "carol");
  await Promise.all([carol.waitForNavigation(), carol.click("#next")]);
  assert.ok(await carol.locator("#password").isVisible());

  const page = await context.newPage();
  const titles = [];
  for (let i = 1; i <= 3; i++) {
    await signInWithPassword(page, sys.url, "bob", `Wrong-Password-${i}`);
    titles.push(await text(page.locator("h1")));
    if (i < 3) assert.match(await text(page.locator("#error")), /Wrong username or password/);
    if (i === 1) await shot(page, "wrong-password");
  }
  const blocks = await sys.api("GET", "/v1/admin/blocks");
  assert.equal(blocks.status, 200);
  assert.match(JSON.stringify(blocks.body), /127\.0\.0\.1/);

  // Whatever is typed now, the same blocked page.
  await page.goto(sys.url + "/signin");
  await page.fill("#username", "nobody-here");
  const unknown = await Promise.all([page.waitForNavigation(), page.click("#next")]).then(([r]) => r);
  assert.equal(unknown.status(), 403);
  assert.equal(await text(page.locator("h1")), "Sign-in blocked");
  const unknownText = await text(page.locator("main"));
  await shot(page, "blocked-unknown-user");

  await carol.fill("#password", "Correct-Horse-42");
  const known = await Promise.all([carol.waitForNavigation(), carol.click("#signin")]).then(([r]) => r);
  assert.equal(known.status(), 403);
  const knownText = await text(carol.locator("main"));
  assert.equal(knownText, unknownText);
  assert.notEqual(new URL(carol.url()).pathname, "/account");
  await shot(carol, "blocked-correct-password");
  assert.equal(titles[2], "Sign-in blocked", `third failure page: ${titles[2]}`);

  // The admin unblocks the address (API: the admin's own sign-in would come
  // from the same blocked address).
  const del = await sys.api("DELETE", "/v1/admin/blocks/127.0.0.1");
  assert.ok(del.status >= 200 && del.status < 300, `unblock: ${del.status}`);
  await signInWithPassword(carol, sys.url, "carol", "Correct-Horse-42");
  assert.equal(new URL(carol.url()).pathname, "/account");
  await shot(carol, "signed-in-after-unblock");

  const after = await sys.api("GET", "/v1/admin/blocks");
  assert.equal(after.status, 200);
  assert.doesNotMatch(JSON.stringify(after.body), /127\.0\.0\.1/, "unblocked");
});
