// Countersign web pages: the only script. It makes the "Approve on your
// phone" page live: long-poll the flow's status and press "Continue" when
// the phone answers. Without it, the user presses "Continue" themselves.
"use strict";

(function () {
  const status = document.getElementById("approve-status");
  if (!status) return;
  const form = document.getElementById("finish-form");
  const messages = {
    denied: "Denied on your phone.",
    reported: "Reported as not you on your phone.",
    expired: "The request expired.",
    none: "This sign-in is no longer active.",
  };
  async function poll() {
    for (;;) {
      let state;
      try {
        const r = await fetch(status.dataset.poll + "?wait=25", {
          credentials: "same-origin",
          cache: "no-store",
        });
        if (!r.ok) throw new Error("HTTP " + r.status);
        state = (await r.json()).state;
      } catch (e) {
        status.textContent = "Connection problem; retrying…";
        await new Promise((ok) => setTimeout(ok, 2000));
        continue;
      }
      if (state === "pending") {
        status.textContent = "Waiting for your phone…";
        continue;
      }
      if (state === "approved") {
        status.textContent = "Approved. Signing you in…";
      } else {
        status.textContent = messages[state] || state;
      }
      status.dataset.state = state;
      form.submit();
      return;
    }
  }
  poll();
})();
