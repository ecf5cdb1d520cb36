// The header's menu, and the finder on the gallery and a project's page, are <details>: they
// open and close without a script. On a wide screen the stylesheet shows their contents
// always; where the browser cannot style a closed <details> that way, they are opened here
// instead. A tap outside the open menu, or Escape, closes it on a phone.
(function () {
  "use strict";
  const wide = window.matchMedia("(min-width: 64em)");
  const styled = window.CSS && CSS.supports("selector(::details-content)");
  const folded = Array.from(document.querySelectorAll("details.opens-wide")).filter((d) => !d.open);

  function fit() {
    if (styled) return;
    folded.forEach((details) => {
      details.open = wide.matches;
      details.classList.toggle("shown-wide", wide.matches);
    });
  }
  wide.addEventListener("change", fit);
  fit();

  const menu = document.querySelector("[data-role=menu]");
  if (!menu) return;
  document.addEventListener("click", (event) => {
    if (menu.open && !wide.matches && !menu.contains(event.target)) menu.open = false;
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && menu.open && !wide.matches) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });
})();
