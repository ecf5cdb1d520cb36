// Following work the server is still doing (a job, an export): ask `url` for its state every
// couple of seconds, more slowly while the server cannot answer, until `show(state)` returns
// true (finished). `signedOut` runs instead when the session has ended.
window.klingPoll = function (url, show, signedOut) {
  "use strict";
  let delay = 1500;

  async function check() {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (response.status === 403 || response.redirected) {
        signedOut();
        return;
      }
      if (!response.ok) throw new Error("HTTP " + response.status);
      if (show(await response.json())) return;
      delay = 1500;
    } catch (e) {
      delay = Math.min(delay * 2, 30000);
    }
    setTimeout(check, delay);
  }
  setTimeout(check, delay);
};
