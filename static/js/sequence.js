// A sequence's page. Each take's preview plays only its trim, following the trim's inputs as
// they are typed, before they are saved; and a running export is followed, by asking the server
// for its status every couple of seconds, until it has finished.
(function () {
  "use strict";

  function seconds(input, otherwise) {
    const value = parseFloat(input.value);
    return isNaN(value) || value < 0 ? otherwise : value;
  }

  function limitToTrim(item) {
    const video = item.querySelector("[data-role=take-preview]");
    const start = item.querySelector("[data-role=trim-start]");
    const end = item.querySelector("[data-role=trim-end]");
    if (!video || !start || !end) return;

    function trim() {
      const from = seconds(start, 0);
      const to = seconds(end, Infinity);
      return { from: from, to: to > from ? to : Infinity };
    }

    function check() {
      const kept = trim();
      if (video.currentTime >= kept.to) {
        video.pause();
        video.currentTime = kept.from;
      }
    }

    // every frame where the browser can say so, else four times a second
    function follow() {
      check();
      if (!video.paused && video.requestVideoFrameCallback) video.requestVideoFrameCallback(follow);
    }

    video.addEventListener("play", function () {
      const kept = trim();
      if (video.currentTime < kept.from || video.currentTime >= kept.to) {
        video.currentTime = kept.from;
      }
      follow();
    });
    video.addEventListener("timeupdate", check);
    start.addEventListener("input", function () {
      video.pause();
      video.currentTime = trim().from;
    });
    end.addEventListener("input", function () {
      const kept = trim();
      if (kept.to === Infinity) return;
      // show the last frame kept: the one just before the end
      video.pause();
      video.currentTime = Math.max(kept.from, kept.to - 0.01);
    });
  }

  document.querySelectorAll("[data-take]").forEach(limitToTrim);

  const section = document.getElementById("export");
  if (!section || section.dataset.running !== "true") return;
  const badge = section.querySelector("[data-role=export-status]");
  const percent = section.querySelector("[data-role=export-percent]");
  const bar = section.querySelector("[data-role=export-progress]");
  const error = section.querySelector("[data-role=export-error]");
  const player = section.querySelector("[data-role=export-player]");
  const button = section.querySelector("[data-role=export-button]");

  function showVideo() {
    // the address stays the same from one export to the next: ask for this one's bytes
    window.klingPlayer(player, section.dataset.videoUrl + "?v=" + Date.now());
  }

  function show(state) {
    badge.textContent = state.label;
    badge.className = "status status-export-" + state.status;
    bar.value = state.progress;
    bar.textContent = percent.textContent = state.progress + "%";
    error.textContent = state.error;
    error.hidden = !state.error;
    if (state.running) return false;
    bar.hidden = percent.hidden = true;
    button.disabled = false;
    if (state.status === "done") {
      button.textContent = "Export again";
      showVideo();
    }
    return true;
  }

  window.klingPoll(section.dataset.statusUrl, show, function () {
    badge.textContent = "You were signed out. Sign in again to follow this export.";
  });
})();
