// The composer's storyboard and elements (Kling 3.0): single shot or multi-shot, the shot
// editor with its running total and one-click fix, and the element rows. Sections a model does
// not take are hidden and disabled, so the browser does not send them at all. Rows are Django
// formset rows: every change renumbers their field names and the management form's count.
(function () {
  "use strict";
  const catalogue = JSON.parse(document.getElementById("catalogue").textContent);
  const form = document.getElementById("compose");
  const byId = Object.fromEntries(catalogue.models.map((m) => [m.id, m]));
  const storyboard = document.getElementById("storyboard");
  const shotType = document.getElementById("field-shot_type");
  const shotSection = document.getElementById("shots");
  const elementSection = document.getElementById("element-editor");
  const duration = form.elements.duration;
  const total = shotSection.querySelector("[data-role=shot-total]");
  const mismatch = shotSection.querySelector("[data-role=shot-mismatch]");
  const fix = shotSection.querySelector("[data-action=fix-durations]");
  let model = chosenModel();

  function chosenModel() {
    const checked = form.querySelector("input[name=model]:checked");
    return byId[checked ? checked.value : catalogue.models[0].id];
  }

  function chosen(name) {
    const checked = form.querySelector(`input[name=${name}]:checked`);
    return checked ? checked.value : "";
  }

  function show(section, on) {
    section.hidden = !on;
    section.disabled = !on;
  }

  // One formset: its rows can be added, removed and moved; `min` rows always stay.
  function rowList(section, prefix, min, max) {
    const list = section.querySelector("[data-role=rows]");
    const template = section.querySelector("template[data-role=row-template]");
    const count = section.querySelector(`input[name=${prefix}-TOTAL_FORMS]`);
    const initial = section.querySelector(`input[name=${prefix}-INITIAL_FORMS]`);
    const add = section.querySelector("[data-action=add]");
    const numbered = new RegExp(`^${prefix}-(\\d+|__prefix__)-`);
    const numberedId = new RegExp(`^id_${prefix}-(\\d+|__prefix__)-`);
    const rows = () => Array.from(list.querySelectorAll(":scope > [data-role=row]"));

    function rename(row, index) {
      row.querySelectorAll("[name], [id], label[for]").forEach((node) => {
        for (const attribute of ["name", "id", "for"]) {
          const value = node.getAttribute(attribute);
          if (!value) continue;
          node.setAttribute(attribute, value
            .replace(numbered, `${prefix}-${index}-`)
            .replace(numberedId, `id_${prefix}-${index}-`)
            .replace(new RegExp(`^field-${prefix}-(\\d+|__prefix__)-`), `field-${prefix}-${index}-`));
        }
      });
    }

    function renumber() {
      const all = rows();
      all.forEach((row, index) => {
        rename(row, index);
        row.querySelector("[data-role=number]").textContent = index + 1;
        const up = row.querySelector("[data-action=up]");
        const down = row.querySelector("[data-action=down]");
        if (up) up.disabled = index === 0;
        if (down) down.disabled = index === all.length - 1;
        row.querySelector("[data-action=remove]").disabled = all.length <= min;
      });
      count.value = all.length;
      // Every row is sent in full, so none of them is an "initial" (unchanged) row.
      initial.value = 0;
      add.disabled = all.length >= max();
    }

    section.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button) return;
      const row = button.closest("[data-role=row]");
      const action = button.dataset.action;
      if (action === "add" && rows().length < max()) {
        const fresh = template.content.querySelector("[data-role=row]").cloneNode(true);
        list.append(fresh);
        renumber();
        const first = fresh.querySelector("textarea, input:not([type=hidden])");
        if (first) first.focus();
      } else if (action === "remove" && rows().length > min) {
        row.remove();
      } else if (action === "up" && row.previousElementSibling) {
        list.insertBefore(row, row.previousElementSibling);
      } else if (action === "down" && row.nextElementSibling) {
        list.insertBefore(row.nextElementSibling, row);
      } else {
        return;
      }
      renumber();
      refresh();
    });
    return { rows, renumber };
  }

  const shots = rowList(shotSection, "shots", 1, () => model.maxShots);
  const elements = rowList(elementSection, "elements", 0, () => model.maxElements);

  function seconds(row) {
    const value = Number(row.querySelector("input.seconds").value);
    return Number.isInteger(value) && value > 0 ? value : 0;
  }

  // Spread the difference over the shots: a longer video lengthens them all evenly (the last
  // shots take the remainder); a shorter one trims from the last shot backwards, keeping each
  // at least 1 second. Deterministic, so the same storyboard always gets the same fix.
  function addUp(durations, target) {
    const fixed = durations.map((d) => Math.max(1, d));
    let difference = target - fixed.reduce((a, b) => a + b, 0);
    if (difference > 0) {
      const each = Math.floor(difference / fixed.length);
      const rest = difference % fixed.length;
      return fixed.map((d, i) => d + each + (i >= fixed.length - rest ? 1 : 0));
    }
    for (let i = fixed.length - 1; i >= 0 && difference < 0; i--) {
      const cut = Math.min(fixed[i] - 1, -difference);
      fixed[i] -= cut;
      difference += cut;
    }
    return fixed;
  }

  function updateTotal() {
    const rows = shots.rows();
    const sum = rows.reduce((acc, row) => acc + seconds(row), 0);
    const target = Number(duration.value);
    total.textContent = `Shots: ${sum} s of ${target} s`;
    const off = sum !== target;
    total.classList.toggle("over", off);
    mismatch.hidden = !off;
    fix.hidden = !off;
    if (!off) return;
    if (rows.length > target) {
      mismatch.textContent = `${rows.length} shots cannot fit in ${target} s, as each lasts at ` +
        "least 1 second. Remove a shot or make the video longer.";
      fix.hidden = true;
    } else {
      mismatch.textContent = `The shots add up to ${sum} s, but the video is ${target} s long. ` +
        `They must add up exactly (${sum < target ? target - sum + " s short" : sum - target + " s over"}).`;
    }
  }

  function updateCounters() {
    shots.rows().forEach((row) => {
      const prompt = row.querySelector("textarea");
      const counter = row.querySelector("[data-role=shot-count]");
      counter.textContent = `${prompt.value.length} / ${catalogue.maxShotPromptChars} characters`;
      counter.classList.toggle("over", prompt.value.length > catalogue.maxShotPromptChars);
    });
  }

  function previewReferences(input) {
    let box = input.parentElement.querySelector("[data-role=previews]");
    if (!box) {
      box = document.createElement("div");
      box.className = "previews";
      box.dataset.role = "previews";
      input.after(box);
    }
    box.replaceChildren(...Array.from(input.files).map((file) => {
      const img = document.createElement("img");
      img.className = "preview";
      img.alt = "";
      img.src = URL.createObjectURL(file);
      return img;
    }));
  }

  // A new storyboard starts as one shot lasting the whole video, so it begins in agreement.
  function startStoryboard() {
    const rows = shots.rows();
    const only = rows.length === 1 ? rows[0].querySelector("input.seconds") : null;
    if (only && only.value === "") only.value = duration.value;
  }

  function refresh() {
    model = chosenModel();
    show(storyboard, model.storyboard);
    const multi = model.storyboard && chosen("multi_shot") === "1";
    const custom = multi && chosen("shot_type") === "customize";
    show(shotType, multi);
    show(shotSection, custom);
    if (custom) startStoryboard();
    show(elementSection, model.maxElements > 0);
    shots.renumber();
    elements.renumber();
    updateTotal();
    updateCounters();
  }

  fix.addEventListener("click", () => {
    const rows = shots.rows();
    const fixed = addUp(rows.map(seconds), Number(duration.value));
    rows.forEach((row, i) => { row.querySelector("input.seconds").value = fixed[i]; });
    updateTotal();
  });
  form.addEventListener("change", (event) => {
    if (event.target.matches("input[type=file][multiple]")) previewReferences(event.target);
    refresh();
  });
  form.addEventListener("input", (event) => {
    if (event.target.closest("#shots")) {
      updateTotal();
      updateCounters();
    }
  });
  refresh();
})();
