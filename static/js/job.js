// A job's page follows the job without reloading: it asks the server for the job's status every
// couple of seconds until the job has finished.
(function () {
  "use strict";
  const job = document.getElementById("job");
  if (!job || job.dataset.finished === "true") return;
  const badge = document.querySelector("[data-role=status]");
  const error = job.querySelector("[data-role=error]");
  const progress = job.querySelector("[data-role=progress]");
  const player = job.querySelector("[data-role=player]");
  let delay = 1500;

  function showVideo() {
    const poster = player.querySelector("img");
    window.klingPlayer(player, job.dataset.videoUrl, poster && poster.src);
  }

  async function check() {
    try {
      const response = await fetch(job.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (response.status === 403 || response.redirected) {
        progress.textContent = "You were signed out. Sign in again to follow this job.";
        return;
      }
      if (!response.ok) throw new Error("HTTP " + response.status);
      const state = await response.json();
      badge.textContent = state.label;
      badge.className = "status status-" + state.status;
      job.querySelector("[data-role=charged]").textContent = state.charged;
      error.textContent = state.error;
      error.hidden = !state.error;
      if (state.finished) {
        progress.hidden = true;
        job.querySelector("[data-role=cost]").textContent =
          state.cost_note ? state.cost + " (" + state.cost_note + ")" : state.cost;
        if (state.video) showVideo();
        return;
      }
      delay = 1500;
    } catch (e) {
      delay = Math.min(delay * 2, 30000);
    }
    setTimeout(check, delay);
  }
  setTimeout(check, delay);
})();
