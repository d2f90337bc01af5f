// What every browser test needs around the browser: an SMTP sink, a real
// countersign-server on loopback, its JSON admin API, the `countersign` CLI
// as the phone, mail reading and numbered full-page screenshots.
//
// Everything is started per test file and stopped by `stop()` (kill by pid:
// only the processes this file started).
import { spawn, execFile } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import https from "node:https";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { execFileSync } from "node:child_process";

const execFileP = promisify(execFile);
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const BIN = path.join(ROOT, "target/debug");
export const SCREENS = path.join(ROOT, "target/browser-screens");
export const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** The venv python with aiosmtpd: $COUNTERSIGN_PY (set by tools/browser-test.sh) or tools/py-env.sh. */
function python() {
  if (process.env.COUNTERSIGN_PY) return process.env.COUNTERSIGN_PY;
  const out = execFileSync(path.join(ROOT, "tools/py-env.sh"), { encoding: "utf8" });
  return out.trim().split("\n").pop();
}

/** Spawns `cmd`, resolves with {child, match} once a stdout line matches `re`. */
function spawnUntil(cmd, args, re, what) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${what} did not start in 20 s\nstdout: ${out}\nstderr: ${err}`));
    }, 20_000);
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d) => { err += d; });
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(re);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m, log: () => ({ out, err }) });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before it was ready\nstdout: ${out}\nstderr: ${err}`));
    });
    child.on("error", reject);
  });
}

/**
 * Starts an SMTP sink and a server with a fresh data dir. Returns the
 * environment: { url, token, mailDir, api(), cli(), mails(), … , stop() }.
 */
export async function startSystem(name, { ipBlockFailures = 3, serverArgs = [] } = {}) {
  const work = mkdtempSync(path.join(tmpdir(), `cs-browser-${name}-`));
  const mailDir = path.join(work, "mail");
  const dataDir = path.join(work, "data");
  mkdirSync(mailDir);
  mkdirSync(dataDir);
  const sink = await spawnUntil(python(), [path.join(ROOT, "tools/smtp-sink.py"), "--port", "0", "--dir", mailDir], /ready (\d+)/, "smtp sink");
  const smtpPort = sink.match[1];
  let server;
  try {
    server = await spawnUntil(
      path.join(BIN, "countersign-server"),
      [
        "serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--name", "Home NAS",
        "--smtp-host", "127.0.0.1", "--smtp-port", smtpPort, "--smtp-security", "none",
        "--smtp-from", "Home NAS <nas@example.com>",
        "--ip-block-failures", String(ipBlockFailures), "--ip-block-window", "300", "--ip-block-for", "0",
        ...serverArgs,
      ],
      /public URL:\s+(https:\/\/127\.0\.0\.1:\d+)/,
      "countersign-server",
    );
  } catch (e) {
    sink.child.kill("SIGTERM");
    throw e;
  }
  // The child's stdout must keep draining (a full pipe would block the server).
  const url = server.match[1];
  // Admin API tokens are made with the local command (printed once, stored hashed).
  const token = execFileSync(
    path.join(BIN, "countersign-server"), ["token", "create", "browser-tests", "--data-dir", dataDir],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  ).trim().split("\n").pop().trim();
  const env = {
    url,
    work,
    mailDir,
    /** The JSON admin API: resolves {status, body}. */
    api(method, p, body) {
      return new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : JSON.stringify(body);
        const req = https.request(url + p, {
          method,
          rejectUnauthorized: false,
          headers: {
            authorization: `Bearer ${token}`,
            ...(data ? { "content-type": "application/json", "content-length": Buffer.byteLength(data) } : {}),
          },
        }, (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (d) => { text += d; });
          res.on("end", () => {
            let parsed = text;
            try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
            resolve({ status: res.statusCode, body: parsed });
          });
        });
        req.on("error", reject);
        if (data) req.write(data);
        req.end();
      });
    },
    async createUser(user) {
      const r = await env.api("POST", "/v1/admin/users", user);
      if (r.status >= 300) throw new Error(`create user ${user.username}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
    async users() {
      const r = await env.api("GET", "/v1/admin/users");
      if (r.status !== 200) throw new Error(`list users: ${r.status}`);
      return Array.isArray(r.body) ? r.body : r.body.users;
    },
    /** Mails received so far, oldest first: [{from,to,subject,body}]. */
    mails() {
      // tools/smtp-sink.py writes <n>.json (envelope) before <n>.eml (the
      // raw message), so a visible .eml means both are complete.
      return readdirSync(mailDir)
        .filter((f) => /^\d+\.eml$/.test(f))
        .sort((a, b) => parseInt(a, 10) - parseInt(b, 10))
        .map((f) => {
          const n = parseInt(f, 10);
          const envelope = JSON.parse(readFileSync(path.join(mailDir, `${n}.json`), "utf8"));
          const raw = readFileSync(path.join(mailDir, f), "utf8");
          // Body after the header block, quoted-printable soft breaks undone.
          const sep = raw.search(/\r?\n\r?\n/);
          const body = (sep < 0 ? raw : raw.slice(sep)).replace(/=\r?\n/g, "").replace(/=3D/g, "=").trim();
          return { ...envelope, raw, body };
        });
    },
    /** Waits for mail number `n` (1-based). */
    async mail(n, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const all = env.mails();
        if (all.length >= n) return all[n - 1];
        if (Date.now() > until) throw new Error(`mail ${n} did not arrive (have ${all.length})`);
        await sleep(100);
      }
    },
    /** A phone: the countersign CLI on its own vault file. */
    phone(label) {
      const vault = path.join(work, `${label}.vault`);
      const run = async (...args) => {
        try {
          const { stdout } = await execFileP(path.join(BIN, "countersign"), ["--vault", vault, ...args], { timeout: 40_000 });
          return stdout;
        } catch (e) {
          throw new Error(`countersign ${args.join(" ")} failed: ${e.message}\n${e.stdout ?? ""}${e.stderr ?? ""}`);
        }
      };
      return {
        vault,
        run,
        async json(...args) { return JSON.parse(await run(...args, "--json")); },
      };
    },
    async stop() {
      for (const c of [server.child, sink.child]) {
        if (c.exitCode === null && c.signalCode === null) {
          const done = new Promise((ok) => c.once("exit", ok));
          c.kill("SIGTERM");
          await Promise.race([done, sleep(3000)]);
          if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
        }
      }
      if (!process.env.COUNTERSIGN_KEEP) rmSync(work, { recursive: true, force: true });
    },
    serverLog: () => server.log(),
  };
  server.child.stdout.resume();
  return env;
}

/** Numbered full-page screenshots in target/browser-screens/<test>/NN-name.png. */
export function screenshots(test) {
  const dir = path.join(SCREENS, test);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let n = 0;
  const shot = async (page, name) => {
    n += 1;
    const file = path.join(dir, `${String(n).padStart(2, "0")}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  };
  shot.dir = dir;
  return shot;
}

/** The text of a locator, whitespace-collapsed. */
export async function text(locator) {
  return (await locator.innerText()).replace(/\s+/g, " ").trim();
}

/** Username → password → submit, from /signin. Leaves the page where the server sent it. */
export async function signInWithPassword(page, url, username, password) {
  await page.goto(url + "/signin");
  await page.fill("#username", username);
  await Promise.all([page.waitForNavigation(), page.click("#next")]);
  await page.fill("#password", password);
  await Promise.all([page.waitForNavigation(), page.click("#signin")]);
}

/**
 * The phone's current TOTP code for `query` (`countersign codes --json`).
 * `fresh`: wait until the step is newer than `afterStep` (the server refuses
 * a step it has already accepted), computing the step from the clock.
 */
export async function totp(phone, query, { afterStep } = {}) {
  for (;;) {
    const t = Math.floor(Date.now() / 1000);
    const [c] = await phone.json("codes", query, "--at", String(t));
    const step = Math.floor(t / c.period);
    if (afterStep === undefined || step > afterStep) return { code: c.code, step, validFor: c.valid_for_s };
    await sleep(((step + 1) * c.period - Date.now() / 1000 + 0.2) * 1000);
  }
}

export { existsSync };
