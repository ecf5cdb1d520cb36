// The gallery and a project's page: star without leaving the page, and compare two to four
// ticked videos.
(function () {
  "use strict";
  const bar = document.getElementById("compare-form");
  const count = bar && bar.querySelector("[data-role=compare-count]");
  const compare = bar && bar.querySelector("[data-role=compare]");
  const picks = Array.from(document.querySelectorAll("[data-role=pick]"));

  function updateBar() {
    if (!bar) return;
    const ticked = picks.filter((box) => box.checked).length;
    compare.disabled = ticked < 2 || ticked > 4;
    count.textContent = ticked === 0
      ? "Tick two to four finished videos to compare them side by side."
      : ticked + " ticked" + (ticked > 4 ? ": untick some, four at most." : ticked < 2 ? ": tick one more." : ".");
  }
  picks.forEach((box) => box.addEventListener("change", updateBar));
  updateBar();

  document.querySelectorAll("form[data-role=star]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const body = new FormData(form);
      fetch(form.action, { method: "POST", body, headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : Promise.reject(response)))
        .then((answer) => {
          const button = form.querySelector("button");
          form.elements.starred.value = answer.starred ? "0" : "1";
          button.classList.toggle("on", answer.starred);
          button.setAttribute("aria-pressed", String(answer.starred));
          button.textContent = answer.starred ? "★ Starred" : "☆ Star";
          button.title = answer.starred ? "Remove the star" : "Star this video";
          form.closest(".tile")?.classList.toggle("starred", answer.starred);
        })
        .catch(() => form.submit());
    });
  });
})();
