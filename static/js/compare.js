// Takes side by side, in sync: one Play, Pause and scrub bar for every video. The longest take
// leads; the others follow its clock and are nudged back when they drift.
(function () {
  "use strict";
  const section = document.getElementById("compare");
  const videos = Array.from(section.querySelectorAll("[data-role=take-video]"));
  const play = section.querySelector("[data-role=play]");
  const scrub = section.querySelector("[data-role=scrub]");
  const clock = section.querySelector("[data-role=clock]");
  const DRIFT = 0.15; // seconds a follower may stray before it is put back
  if (videos.length === 0) {
    section.querySelector("[data-role=controls]").hidden = true;
    return;
  }

  function longest() {
    return videos.reduce((a, b) => ((b.duration || 0) > (a.duration || 0) ? b : a));
  }

  // whether a take still has picture at `time` (a shorter one has ended by then)
  function covers(video, time) {
    return time < (video.duration || 0) - 0.05;
  }

  function seekAll(time) {
    videos.forEach((video) => {
      video.currentTime = Math.min(time, Math.max((video.duration || time) - 0.05, 0));
      // a shorter take that had ended plays again when the bar goes back into it
      if (section.dataset.playing === "true" && video.paused && covers(video, time)) {
        video.play().catch(() => null);
      }
    });
    show(time);
  }

  function show(time) {
    const lead = longest();
    clock.textContent = time.toFixed(1) + " s";
    if (lead.duration) scrub.value = String(Math.round((time / lead.duration) * 1000));
    section.dataset.time = time.toFixed(2);
  }

  function setPlaying(playing) {
    section.dataset.playing = String(playing);
    play.textContent = playing ? "Pause all" : "Play all";
  }

  play.addEventListener("click", () => {
    if (section.dataset.playing === "true") {
      videos.forEach((video) => video.pause());
      setPlaying(false);
      return;
    }
    const lead = longest();
    if (lead.ended || (lead.duration && lead.currentTime >= lead.duration - 0.05)) seekAll(0);
    // a shorter take the lead has gone past stays on its last frame rather than start over
    const playing = videos.filter((video) => video === lead || covers(video, lead.currentTime));
    Promise.all(playing.map((video) => video.play().catch(() => null))).then(() => setPlaying(true));
  });

  scrub.addEventListener("input", () => {
    const lead = longest();
    if (lead.duration) seekAll((Number(scrub.value) / 1000) * lead.duration);
  });

  videos.forEach((video) => {
    video.addEventListener("timeupdate", () => {
      const lead = longest();
      if (video !== lead) return;
      show(lead.currentTime);
      videos.forEach((other) => {
        if (other === lead || other.ended) return;
        if (lead.currentTime < (other.duration || 0) && Math.abs(other.currentTime - lead.currentTime) > DRIFT) {
          other.currentTime = lead.currentTime;
        }
      });
    });
    video.addEventListener("ended", () => {
      if (video === longest()) setPlaying(false);
    });
  });
})();
