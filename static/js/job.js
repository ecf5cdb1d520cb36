// A job's page follows the job without reloading: it asks the server for the job's status every
// couple of seconds (poll.js) until the job has finished.
(function () {
  "use strict";
  const job = document.getElementById("job");
  if (!job || job.dataset.finished === "true") return;
  const badge = document.querySelector("[data-role=status]");
  const error = job.querySelector("[data-role=error]");
  const progress = job.querySelector("[data-role=progress]");
  const player = job.querySelector("[data-role=player]");

  function showVideo() {
    const poster = player.querySelector("img");
    window.klingPlayer(player, job.dataset.videoUrl, poster && poster.src);
  }

  function show(state) {
    // an approver decided: the page shows the decision (and, if declined, the draft's actions)
    if (job.dataset.status === "waiting" && state.status !== "waiting") {
      window.location.reload();
      return true;
    }
    badge.textContent = state.label;
    badge.className = "status status-" + state.status;
    job.querySelector("[data-role=charged]").textContent = state.charged;
    error.textContent = state.error;
    error.hidden = !state.error;
    if (!state.finished) return false;
    progress.hidden = true;
    job.querySelector("[data-role=cost]").textContent =
      state.cost_note ? state.cost + " (" + state.cost_note + ")" : state.cost;
    if (state.video) showVideo();
    return true;
  }

  window.klingPoll(job.dataset.statusUrl, show, function () {
    progress.textContent = "You were signed out. Sign in again to follow this job.";
  });
})();
