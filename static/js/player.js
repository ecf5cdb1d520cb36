// The player a page shows once its video is ready: the video and its "Download MP4" link, put in
// place of whatever `player` held. Used by the pages that follow a job or an export.
window.klingPlayer = function (player, url, poster) {
  "use strict";
  const video = document.createElement("video");
  video.controls = true;
  video.playsInline = true;
  video.preload = "metadata";
  if (poster) video.poster = poster;
  video.src = url;
  const link = document.createElement("a");
  link.className = "button";
  link.href = url.split("?")[0] + "?download=1";
  link.dataset.role = "download";
  link.textContent = "Download MP4";
  const line = document.createElement("p");
  line.append(link);
  player.replaceChildren(video, line);
};
