// Every signed-in page follows its person's jobs: the tab title counts those running, and the
// browser's notification (once the person allows it) says when one finishes or fails, or when
// an approver approved or declined one that waited. The server's clock decides what is new:
// each poll asks for what finished or was decided since the last answer's `now`, so nothing
// from before the page opened is announced.
(function () {
  "use strict";
  const url = document.body.dataset.activityUrl;
  if (!url) return;
  const VISIBLE_DELAY = 10000;
  const HIDDEN_DELAY = 30000;
  const title = document.title;
  const offer = document.querySelector("[data-role=notify-me]");
  const canNotify = "Notification" in window;
  let since = "";
  let timer = null;
  let busy = false;

  if (offer && canNotify && Notification.permission === "default") {
    offer.hidden = false;
    offer.addEventListener("click", function () {
      offer.hidden = true;
      Notification.requestPermission(); // from the click: browsers ask only on a person's gesture
    });
  }

  function announce(job) {
    if (!canNotify || Notification.permission !== "granted") return;
    let body = job.status === "succeeded" ? "finished" : "failed";
    if (job.error) body += ": " + job.error;
    // one tag per job: several open tabs show one notification, not one each
    const notification = new Notification(job.title, { body: body, tag: "job-" + job.id });
    notification.onclick = function () {
      window.open(job.url, "_blank");
      notification.close();
    };
  }

  function told(decision) {
    if (!canNotify || Notification.permission !== "granted") return;
    let body = decision.approved ? "approved: it is on its way to Kling" : "declined: it is a draft again";
    if (decision.note) body += ". " + decision.note;
    const notification = new Notification(decision.title, { body: body, tag: "decision-" + decision.id });
    notification.onclick = function () {
      if (decision.url) window.open(decision.url, "_blank");
      notification.close();
    };
  }

  async function poll() {
    if (busy) return;
    busy = true;
    clearTimeout(timer);
    try {
      const query = since ? "?since=" + encodeURIComponent(since) : "";
      const response = await fetch(url + query, { headers: { Accept: "application/json" } });
      if (response.redirected) return; // signed out: nothing of theirs to follow any more
      if (!response.ok) throw new Error("HTTP " + response.status);
      const activity = await response.json();
      document.title = activity.running > 0 ? "(" + activity.running + " running) " + title : title;
      activity.finished.slice().reverse().forEach(announce); // oldest first
      (activity.decided || []).slice().reverse().forEach(told);
      since = activity.now;
    } catch (e) {
      // offline or a hiccup: the next poll asks again from the same `since`
    } finally {
      busy = false;
    }
    timer = setTimeout(poll, document.hidden ? HIDDEN_DELAY : VISIBLE_DELAY);
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) poll();
  });
  poll();
})();
