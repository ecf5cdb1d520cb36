// Fitting a frame to Kling's shape. An image Kling would refuse (beyond the widest or tallest
// ratio offered, or a side under the minimum) gets a panel: crop it (a box to drag over the
// preview) or pad it to a chosen ratio; a small one is also scaled up. Only the parameters are
// posted, in the image's own pixels: the server redoes the fit (jobs/framing.py), so the sizes
// here follow its rules exactly, always rounding toward square.
(function () {
  "use strict";
  const form = document.getElementById("compose");
  const frames = {};

  const ratioOf = (text) => text.split(":").map(Number);
  const clamp = (value, low, high) => Math.min(Math.max(value, low), high);

  // framing._width_for and framing._height_for
  function widthFor(height, [w, h]) {
    const exact = height * w / h;
    return w > h ? Math.floor(exact) : Math.ceil(exact);
  }

  function heightFor(width, [w, h]) {
    const exact = width * h / w;
    return w > h ? Math.ceil(exact) : Math.floor(exact);
  }

  // framing.crop_size: the largest box of the ratio inside the image
  function cropSize(width, height, r) {
    return width * r[1] > height * r[0] ? [widthFor(height, r), height] : [width, heightFor(width, r)];
  }

  // framing.pad_size: the smallest canvas of the ratio around the image
  function padSize(width, height, r) {
    return width * r[1] < height * r[0] ? [widthFor(height, r), height] : [width, heightFor(width, r)];
  }

  // framing.upscale_size: the short side raised to the minimum
  function upscaleSize(width, height, minSide) {
    const short = Math.min(width, height);
    if (short >= minSide) return [width, height];
    const long = Math.max(minSide, Math.floor(Math.max(width, height) * minSide / short));
    return width >= height ? [long, minSide] : [minSide, long];
  }

  function setUp(field) {
    const name = field.dataset.frame;
    const f = {
      name, field,
      file: form.elements[name],
      staged: field.querySelector("[data-role=staged] img"),
      remove: form.elements[name + "_remove"],
      preview: field.querySelector("[data-role=preview]"),
      view: field.querySelector("[data-role=frame-view]"),
      box: field.querySelector("[data-role=crop-box]"),
      panel: field.querySelector("[data-role=fit]"),
      why: field.querySelector("[data-role=fit-why]"),
      keep: field.querySelector("[data-role=fit-keep]"),
      ratioLabel: field.querySelector("[data-role=fit-ratio]"),
      result: field.querySelector("[data-role=fit-result]"),
      kind: form.elements[name + "_fit"],
      ratio: form.elements[name + "_fit_ratio"],
      x: form.elements[name + "_fit_x"],
      y: form.elements[name + "_fit_y"],
      width: 0, height: 0, fresh: false, loading: false,
    };
    // The ratios offered include the model's extremes: the widest and tallest it takes.
    const value = (text) => { const [w, h] = ratioOf(text); return w / h; };
    f.offered = Array.from(f.ratio.options, (o) => o.value);
    f.widest = f.offered.reduce((a, b) => (value(b) > value(a) ? b : a));
    f.tallest = f.offered.reduce((a, b) => (value(b) < value(a) ? b : a));
    f.minSide = Number(f.panel.dataset.minSide);
    f.preview.addEventListener("load", () => {
      f.width = f.preview.naturalWidth;
      f.height = f.preview.naturalHeight;
      if (f.fresh || (f.kind.value === "" && !withinRatio(f))) reset(f);
      f.fresh = f.loading = false;
      renderAll();
    });
    f.preview.addEventListener("error", () => {
      f.width = f.height = 0;
      f.loading = false;
      renderAll();
    });
    dragging(f);
    dropping(f);
    frames[name] = f;
    showStaged(f);
  }

  function withinRatio(f) {
    const [wide, tall] = [ratioOf(f.widest), ratioOf(f.tallest)];
    return f.width * wide[1] <= f.height * wide[0] && f.width * tall[1] >= f.height * tall[0];
  }

  function needsFit(f) {
    return f.width > 0 && (Math.min(f.width, f.height) < f.minSide || !withinRatio(f));
  }

  // A new image: crop it if its shape must change, to the offered ratio nearest its own, centred.
  function reset(f) {
    const own = Math.log(f.width / f.height);
    const distance = (text) => { const [w, h] = ratioOf(text); return Math.abs(Math.log(w / h) - own); };
    f.kind.value = withinRatio(f) ? "" : "crop";
    f.ratio.value = f.offered.reduce((a, b) => (distance(b) < distance(a) ? b : a));
    f.x.value = f.y.value = "";
  }

  // Without a new file, the image kept from an earlier try is the one the server will use.
  function showStaged(f) {
    const kept = f.staged && !(f.remove && f.remove.checked) && !f.file.files.length;
    if (kept && f.preview.src !== f.staged.src) {
      f.loading = true;
      f.preview.src = f.staged.src;
    } else if (!kept && !f.file.files.length) {
      f.preview.removeAttribute("src");
      f.width = f.height = 0;
    }
  }

  // The end frame can borrow the start frame's fit, so that both show the same part.
  function lender(f) {
    const same = form.elements.end_frame_same_fit;
    return f.name === "end_frame" && same && same.checked ? frames.start_frame : f;
  }

  function render(f) {
    const owner = lender(f);
    const borrowed = owner !== f;
    f.panel.hidden = f.panel.disabled = borrowed || !needsFit(f);
    const shown = f.width > 0 && (borrowed || needsFit(f));
    if (!f.file.files.length) f.preview.hidden = !shown;
    f.view.classList.toggle("fitting", shown);
    f.result.hidden = !shown;
    if (!shown) {
      f.box.hidden = true;
      return;
    }
    const within = withinRatio(f);
    if (!borrowed && !within && f.kind.value === "") f.kind.value = "crop";
    const kind = owner.panel.disabled ? "" : owner.kind.value;
    const r = ratioOf(owner.ratio.value);
    f.keep.hidden = !within;
    f.ratioLabel.hidden = kind === "";
    f.why.textContent = `This image is ${f.width}×${f.height} px; Kling takes shapes from ` +
      `${f.tallest} to ${f.widest} with each side at least ${f.minSide} px.`;
    let fitted = [f.width, f.height];
    let note = "";
    f.box.hidden = kind !== "crop";
    if (kind === "crop") {
      fitted = cropSize(f.width, f.height, r);
      const [x, y] = place(owner, f, fitted);
      note = borrowed && (x + fitted[0] > f.width || y + fitted[1] > f.height)
        ? " The start frame's crop reaches outside this image: give it a fit of its own." : "";
      Object.assign(f.box.style, {
        left: `${100 * Math.min(x, f.width - fitted[0]) / f.width}%`,
        top: `${100 * Math.min(y, f.height - fitted[1]) / f.height}%`,
        width: `${100 * fitted[0] / f.width}%`, height: `${100 * fitted[1] / f.height}%`,
      });
    } else if (kind === "pad") {
      fitted = padSize(f.width, f.height, r);
      note = " Black bars fill the rest.";
    }
    const [width, height] = upscaleSize(...fitted, f.minSide);
    const scaled = width !== fitted[0] ? ` (${fitted[0]}×${fitted[1]} scaled up to ${f.minSide} px ` +
      "on its short side)" : "";
    f.result.textContent = (borrowed ? "With the start frame's fit, " : "") +
      `Kling gets a ${width}×${height} px image${scaled}.${note}`;
  }

  // The crop box's corner, in the lender's inputs: centred at first, kept inside its image.
  function place(owner, f, [width, height]) {
    if (owner === f) {
      const at = (input, free) =>
        clamp(input.value === "" ? Math.floor(free / 2) : Number(input.value) || 0, 0, free);
      f.x.value = at(f.x, f.width - width);
      f.y.value = at(f.y, f.height - height);
    }
    return [Number(owner.x.value), Number(owner.y.value)];
  }

  function renderAll() {
    const start = frames.start_frame;
    const end = frames.end_frame;
    render(start);
    if (!end) return;
    const same = end.field.querySelector("[data-role=same-fit]");
    const offered = end.width > 0 && !start.panel.disabled && start.kind.value !== "";
    same.hidden = !offered;
    // unticked only once both images are known: a form shown again ticks it before they load
    if (!offered && !start.loading && !end.loading) form.elements.end_frame_same_fit.checked = false;
    render(end);
  }

  function dragging(f) {
    f.box.addEventListener("pointerdown", (event) => {
      const owner = lender(f);
      const scale = f.width / f.preview.clientWidth;
      const [x, y, px, py] = [Number(owner.x.value), Number(owner.y.value), event.clientX, event.clientY];
      const move = (e) => {
        owner.x.value = Math.round(x + (e.clientX - px) * scale);
        owner.y.value = Math.round(y + (e.clientY - py) * scale);
        renderAll();
      };
      event.preventDefault();
      f.box.setPointerCapture(event.pointerId);
      f.box.addEventListener("pointermove", move);
      const stop = () => f.box.removeEventListener("pointermove", move);
      f.box.addEventListener("pointerup", stop, { once: true });
      f.box.addEventListener("pointercancel", stop, { once: true });
    });
    const steps = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    f.box.addEventListener("keydown", (event) => {
      const step = steps[event.key];
      if (!step) return;
      event.preventDefault();
      const owner = lender(f);
      const size = Math.max(1, Math.round(Math.max(f.width, f.height) / (event.shiftKey ? 10 : 100)));
      owner.x.value = Number(owner.x.value) + step[0] * size;
      owner.y.value = Number(owner.y.value) + step[1] * size;
      renderAll();
    });
  }

  // An image dropped anywhere on the field is chosen as if picked in the file dialog.
  function dropping(f) {
    f.field.addEventListener("dragover", (event) => {
      if (event.dataTransfer.types.includes("Files")) event.preventDefault();
    });
    f.field.addEventListener("drop", (event) => {
      if (!event.dataTransfer.files.length) return;
      event.preventDefault();
      f.file.files = event.dataTransfer.files;
      f.file.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }

  form.addEventListener("change", (event) => {
    for (const f of Object.values(frames)) {
      if (event.target === f.file) {
        f.fresh = f.loading = f.file.files.length > 0;
        showStaged(f);
      } else if (event.target === f.remove) {
        showStaged(f);
      } else if (event.target === f.ratio) {
        f.x.value = f.y.value = "";
      }
    }
    renderAll();
  });

  document.querySelectorAll("[data-frame]").forEach(setUp);
  renderAll();
})();
