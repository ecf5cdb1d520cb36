// The composer: offer only what the chosen model accepts, and show the estimate from the same
// price table the server uses (rendered into the page as JSON).
(function () {
  "use strict";
  const catalogue = JSON.parse(document.getElementById("catalogue").textContent);
  const form = document.getElementById("compose");
  const byId = Object.fromEntries(catalogue.models.map((m) => [m.id, m]));
  const mode = form.elements.mode;
  const duration = form.elements.duration;
  const audio = form.elements.generate_audio;
  const prompt = form.elements.prompt;
  const estimate = form.querySelector("[data-role=estimate]");
  const rate = form.querySelector("[data-role=rate]");
  const counter = form.querySelector("[data-role=prompt-count]");
  const takes = form.elements.takes;
  const takesNote = form.querySelector("[data-role=takes-note]");
  const endField = document.getElementById("field-end_frame");
  const allModes = Array.from(mode.options).map((o) => ({ value: o.value, label: o.text }));
  const allDurations = Array.from(duration.options).map((o) => ({ value: o.value, label: o.text }));

  function chosenModel() {
    const checked = form.querySelector("input[name=model]:checked");
    return byId[checked ? checked.value : catalogue.models[0].id];
  }

  function refill(select, options, allowed, fallback) {
    const keep = select.value;
    select.replaceChildren(...options.filter((o) => allowed.includes(o.value)).map((o) => new Option(o.label, o.value)));
    select.value = allowed.includes(keep) ? keep : String(fallback);
  }

  // Money in thousandths of a dollar, so 0.143 × 7 is exact, as on the server.
  function thousandths(price) {
    const [whole, fraction = ""] = price.split(".");
    return Number(whole) * 1000 + Number((fraction + "000").slice(0, 3));
  }

  function formatMoney(milli) {
    let text = (milli / 1000).toFixed(3);
    if (text.endsWith("0")) text = text.slice(0, -1);
    return "$" + text;
  }

  function update() {
    const model = chosenModel();
    refill(mode, allModes, model.modes.map((m) => m.value), model.defaultMode);
    refill(duration, allDurations, model.durations.map(String), model.defaultDuration);
    // Kling takes no end frame with multi-shot; a disabled input is not sent at all.
    const multiShot = model.storyboard && form.querySelector("input[name=multi_shot]:checked")?.value === "1";
    endField.hidden = !model.endFrame || multiShot;
    endField.querySelectorAll("input").forEach((input) => { input.disabled = endField.hidden; });
    const price = model.prices[mode.value + ":" + (audio.checked ? 1 : 0)];
    const seconds = Number(duration.value);
    const count = Number(takes.value) || 1;
    const each = thousandths(price) * seconds;
    estimate.textContent = formatMoney(each * count);
    rate.textContent = "(" + formatMoney(thousandths(price)) + " per second × " + seconds + " s)";
    takesNote.textContent = count > 1 ? "for " + count + " takes at " + formatMoney(each) + " each" : "";
    counter.textContent = prompt.value.length + " / " + catalogue.maxPromptChars + " characters";
    counter.classList.toggle("over", prompt.value.length > catalogue.maxPromptChars);
  }

  function preview(input) {
    const img = input.parentElement.querySelector("[data-role=preview]");
    if (!img) return;
    const file = input.files[0];
    img.hidden = !file;
    if (file) img.src = URL.createObjectURL(file);
  }

  // Sizes the server would refuse are said at once, next to the field: nothing is sent.
  const megabytes = (bytes) => (bytes / 1048576).toFixed(1) + " MB";
  const tooLarge = form.querySelector("[data-role=too-large]");
  const maxRequest = Number(form.dataset.maxRequestMb) * 1048576;

  function checkSize(input) {
    let note = input.parentElement.querySelector("[data-role=size-error]");
    const big = Array.from(input.files).find((file) => file.size > catalogue.maxImageBytes);
    if (!note) {
      note = document.createElement("p");
      note.className = "error";
      note.setAttribute("role", "alert");
      note.dataset.role = "size-error";
      input.after(note);
    }
    note.hidden = !big;
    note.textContent = big ? `${big.name} is ${megabytes(big.size)}; Kling takes images up to ` +
      `${megabytes(catalogue.maxImageBytes)}. Save it smaller (for example as a JPG) and choose it again.` : "";
  }

  function totalSize() {
    return Array.from(form.querySelectorAll("input[type=file]:not(:disabled)"))
      .flatMap((input) => Array.from(input.files)).reduce((sum, file) => sum + file.size, 0);
  }

  form.addEventListener("submit", (event) => {
    const total = totalSize();
    const tooMuch = total > maxRequest;
    tooLarge.hidden = !tooMuch;
    if (tooMuch) {
      event.preventDefault();
      tooLarge.textContent = `These images add up to ${megabytes(total)}; one submission can ` +
        `carry at most ${megabytes(maxRequest)}. Choose smaller images (a JPG of a few MB is plenty).`;
      tooLarge.scrollIntoView({ block: "center" });
    }
  });

  form.addEventListener("change", (event) => {
    if (event.target.type === "file") {
      preview(event.target);
      checkSize(event.target);
    }
    update();
  });
  prompt.addEventListener("input", update);
  update();

  // The standing of the team whose project is picked, beside the person's own.
  const teamBudgets = document.querySelectorAll("[data-role=team-budget]");
  function showTeamBudget() {
    const project = form.elements.project ? form.elements.project.value : "";
    teamBudgets.forEach((note) => {
      note.hidden = !project || !note.dataset.projects.split(" ").includes(project);
    });
  }
  if (form.elements.project) form.elements.project.addEventListener("change", showTeamBudget);
  showTeamBudget();
})();
