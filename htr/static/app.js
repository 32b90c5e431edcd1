// The htr page: send an image or pen strokes to POST /v1/read and show what came back.
// Plain browser JavaScript, no libraries, nothing fetched from outside this server.
"use strict";

const $ = (selector) => document.querySelector(selector);
const UNSURE = 0.5;     // words read with less confidence than this are marked
const PAUSE_MS = 700;   // once the pen has rested this long, the drawing is read
const EXTENSIONS = { "page-xml": ".xml", alto: ".alto.xml", hocr: ".hocr", pdf: ".pdf" };  // htr/formats.py SUFFIXES

// What is on screen: the tab, the input that was read ({kind: "image", file, url, page} or
// {kind: "ink", strokes, snapshot, view}) and the service's answer. Each tab keeps its last result.
// `seq` lets a newer request win over an older, slower one.
const state = { tab: "image", input: null, page: null, seq: 0, last: { image: null, ink: null } };

// ---- talking to the service ------------------------------------------------------------------

async function request(input, format = "json", path = "/v1/read") {
  const decoder = $("#decoder").value || null;
  let init;
  if (input.kind === "image") {
    const form = new FormData();
    form.append("image", input.file, input.file.name || "image");
    if (decoder) form.append("decoder", decoder);
    form.append("format", format);
    form.append("orientation", "auto");  // a photo or scan on its side or upside down reads too
    form.append("page", input.page);     // of a PDF or a multi-page TIFF (1 for any other image)
    init = { method: "POST", body: form };
  } else {
    init = {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ strokes: input.strokes, decoder, format }),
    };
  }
  const res = await fetch(path, init);
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try { message = (await res.json()).detail || message; } catch { /* not JSON: keep the status */ }
    if (res.status === 503) message = `The server is busy. Try again in ${res.headers.get("Retry-After") || "a few"} s.`;
    throw new Error(message);
  }
  return res;
}

async function read(input) {
  const seq = ++state.seq;
  showStatus("Reading…", "busy");
  try {
    const page = await (await request(input)).json();
    if (seq !== state.seq) return;
    const old = state.last[input.kind]?.input;
    if (old?.url && old.url !== input.url) URL.revokeObjectURL(old.url);
    state.last[input.kind] = { input, page };
    showStatus(null);
    show(page, input);
  } catch (err) {
    if (seq === state.seq) showStatus(err.message, "error");
  }
}

function showStatus(message, kind) {
  const box = $("#status");
  box.hidden = !message;
  box.className = "status" + (kind === "error" ? " error" : "");
  box.replaceChildren();
  if (!message) return;
  if (kind === "busy") box.append(Object.assign(document.createElement("span"), { className: "spinner" }));
  box.append(message);
}

// ---- showing a result -----------------------------------------------------------------------

function show(page, input) {
  state.input = input;
  state.page = page;
  $("#result").hidden = false;
  $("#result").dataset.input = input.kind;
  // How many strokes this result read: a reader (or a test) can tell it from one of an unfinished drawing.
  $("#result").dataset.strokes = input.kind === "ink" ? input.strokes.length : "";
  $("#drop").classList.toggle("compact", input.kind === "image");
  $("#preview").src = input.kind === "image" ? input.url : input.snapshot;
  // A document of several pages: a pager, and the page the service read (a browser would show
  // the first page whichever was read, or none).
  const pages = input.kind === "image" ? page.pages || 1 : 1;
  $("#pager").hidden = pages < 2;
  $("#page-of").textContent = `page ${input.page} of ${pages}`;
  $("#prev").disabled = input.page <= 1;
  $("#next").disabled = input.page >= pages;
  if (pages > 1) showAsRead();
  const svg = $("#boxes");
  svg.setAttribute("viewBox", input.kind === "image" ? `0 0 ${page.width} ${page.height}` : input.view.join(" "));
  svg.replaceChildren();
  const text = $("#text");
  text.replaceChildren();
  let words = 0, unsure = 0;
  page.lines.forEach((line, i) => {
    svg.append(box(line.box, "line"));
    const p = document.createElement("p");
    line.words.forEach((word, j) => {
      const low = word.confidence < UNSURE;
      const id = `w${i}-${j}`;
      svg.append(box(word.box, "word" + (low ? " unsure" : ""), id));
      const span = Object.assign(document.createElement("span"), {
        className: "word" + (low ? " unsure" : ""),
        textContent: word.text,
        title: `${Math.round(word.confidence * 100)}% sure`,
      });
      span.dataset.id = id;
      p.append(j ? " " : "", span);
      words += 1;
      unsure += low;
    });
    if (!line.words.length) p.textContent = line.text;
    text.append(p);
  });
  if (!page.lines.length) {
    text.append(Object.assign(document.createElement("span"), { className: "empty", textContent: "No handwriting found." }));
  }
  const parts = [plural(page.lines.length, "line"), plural(words, "word")];
  if (unsure) parts.push(`${unsure} unsure`);
  if (page.orientation) parts.push(`turned ${page.orientation}°`);
  parts.push(`read in ${Math.round(page.timing.total_ms)} ms`);
  $("#meta").textContent = parts.join(" · ");
}

// A browser shows no PDF or TIFF in an <img>, and of a document only its first page: when the
// upload does not show, or has several pages, show the page the service read (POST /v1/image),
// whose pixels are those of the boxes.
async function showAsRead() {
  const input = state.input;
  if (input?.kind !== "image" || input.asRead) return;
  input.asRead = true;
  try {
    const blob = await (await request(input, "json", "/v1/image")).blob();
    URL.revokeObjectURL(input.url);
    input.url = URL.createObjectURL(blob);
    if (state.input === input) $("#preview").src = input.url;
  } catch (err) {
    showStatus(`The text was read, but the image cannot be shown: ${err.message}`, "error");
  }
}

function box([x0, y0, x1, y1], className, id) {
  const r = document.createElementNS("http://www.w3.org/2000/svg", "rect");
  Object.entries({ x: x0, y: y0, width: x1 - x0, height: y1 - y0, class: className }).forEach(([k, v]) => r.setAttribute(k, v));
  if (id) r.dataset.id = id;
  return r;
}

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

// A word and its box light up together.
function hover(event, on) {
  const id = event.target.dataset?.id;
  if (id) document.querySelectorAll(`[data-id="${id}"]`).forEach((el) => el.classList.toggle("hot", on));
}

// ---- images: pick, photograph, drop, paste ----------------------------------------------------

function readFile(file, page = 1) {
  if (!file) return;
  read({ kind: "image", file, url: URL.createObjectURL(file), page });
}

function setupImageInput() {
  for (const id of ["#file", "#camera"]) {
    $(id).addEventListener("change", (e) => { readFile(e.target.files[0]); e.target.value = ""; });
  }
  const drop = $("#drop");
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") $("#file").click(); });
  window.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  window.addEventListener("dragleave", (e) => { if (!e.relatedTarget) drop.classList.remove("over"); });
  window.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    selectTab("image");
    readFile(e.dataTransfer.files[0]);
  });
  window.addEventListener("paste", (e) => {
    const item = [...e.clipboardData.items].find((it) => it.kind === "file" && it.type.startsWith("image/"));
    if (!item) return;
    selectTab("image");
    readFile(item.getAsFile());
  });
}

// ---- ink: a writing pad with Pointer Events; strokes go to the service as points ---------------

const pad = { strokes: [], current: null, timer: 0 };

function setupPad() {
  const canvas = $("#pad");
  const ctx = canvas.getContext("2d");
  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    return [+(e.clientX - r.left).toFixed(1), +(e.clientY - r.top).toFixed(1), Math.round(e.timeStamp)];
  };
  new ResizeObserver(() => {
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(canvas.clientWidth * dpr);
    canvas.height = Math.round(canvas.clientHeight * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    drawStrokes(ctx, pad.strokes);
  }).observe(canvas);

  canvas.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    canvas.setPointerCapture(e.pointerId);
    clearTimeout(pad.timer);
    pad.current = [at(e)];
    pad.strokes.push(pad.current);
    $("#pad-hint").hidden = true;
    drawStrokes(ctx, [pad.current]);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!pad.current) return;
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    for (const ev of events.length ? events : [e]) pad.current.push(at(ev));
    drawStrokes(ctx, [pad.current.slice(-events.length - 1)]);
  });
  const end = () => {
    if (!pad.current) return;
    pad.current = null;
    pad.timer = setTimeout(readPad, PAUSE_MS);
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);

  $("#undo").addEventListener("click", () => { pad.strokes.pop(); padChanged(ctx); });
  $("#clear").addEventListener("click", () => { pad.strokes = []; padChanged(ctx); });
}

function padChanged(ctx) {
  ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  drawStrokes(ctx, pad.strokes);
  $("#pad-hint").hidden = pad.strokes.length > 0;
  clearTimeout(pad.timer);
  if (pad.strokes.length) pad.timer = setTimeout(readPad, PAUSE_MS);
  else { state.seq += 1; state.last.ink = null; hideResult(); showStatus(null); }
}

function hideResult() {
  state.input = state.page = null;
  $("#result").hidden = true;
}

function drawStrokes(ctx, strokes) {
  ctx.lineWidth = 3;
  ctx.lineCap = ctx.lineJoin = "round";
  ctx.strokeStyle = "#1d2330";
  for (const s of strokes) {
    ctx.beginPath();
    ctx.moveTo(s[0][0], s[0][1]);
    for (const [x, y] of s.length > 1 ? s.slice(1) : s) ctx.lineTo(x, y);
    ctx.stroke();
  }
}

// The drawing as it will be shown beside its text: cropped to the ink, on white.
function readPad() {
  if (!pad.strokes.length) return;
  const xs = pad.strokes.flat().map((p) => p[0]), ys = pad.strokes.flat().map((p) => p[1]);
  const m = 12;
  const view = [Math.min(...xs) - m, Math.min(...ys) - m, 0, 0];
  view[2] = Math.max(...xs) + m - view[0];
  view[3] = Math.max(...ys) + m - view[1];
  const dpr = window.devicePixelRatio || 1;
  const snap = document.createElement("canvas");
  snap.width = Math.ceil(view[2] * dpr);
  snap.height = Math.ceil(view[3] * dpr);
  const ctx = snap.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, snap.width, snap.height);
  ctx.setTransform(dpr, 0, 0, dpr, -view[0] * dpr, -view[1] * dpr);
  drawStrokes(ctx, pad.strokes);
  read({ kind: "ink", strokes: pad.strokes.map((s) => s.slice()), snapshot: snap.toDataURL("image/png"), view });
}

// ---- tabs, options, copy and download ---------------------------------------------------------

function selectTab(name) {
  if (name === state.tab) return;
  state.tab = name;
  state.seq += 1;  // a read still under way belongs to the other tab
  showStatus(null);
  for (const tab of ["image", "draw"]) {
    $(`#tab-${tab}`).setAttribute("aria-selected", String(tab === name));
    $(`#panel-${tab}`).hidden = tab !== name;
  }
  const last = state.last[name === "image" ? "image" : "ink"];
  if (last) show(last.page, last.input);
  else hideResult();
}

async function copyText(button) {
  const text = state.page?.text ?? "";
  try {
    await navigator.clipboard.writeText(text);
  } catch {  // no clipboard API (plain http on another host): select and copy
    const area = Object.assign(document.createElement("textarea"), { value: text });
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  button.textContent = "Copied ✓";
  button.classList.add("done");
  setTimeout(() => { button.textContent = "Copy text"; button.classList.remove("done"); }, 1500);
}

async function download(kind) {
  const { input, page } = state;
  let stem = input.kind === "image" ? (input.file.name || "image").replace(/\.[^.]*$/, "") : "handwriting";
  if (page.pages > 1) stem += `-p${input.page}`;   // as htr read --output-dir names a document's pages
  try {
    if (kind === "txt") save(new Blob([page.text + "\n"], { type: "text/plain" }), `${stem}.txt`);
    else if (kind === "json") save(new Blob([JSON.stringify(page, null, 1)], { type: "application/json" }), `${stem}.json`);
    else save(await (await request(input, kind)).blob(), stem + EXTENSIONS[kind]);
  } catch (err) {
    showStatus(err.message, "error");
  }
}

function save(blob, name) {
  const a = Object.assign(document.createElement("a"), { href: URL.createObjectURL(blob), download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 5000);
}

async function setupOptions() {
  try {
    const health = await (await fetch("/health")).json();
    $("#decoder").replaceChildren(...health.decoders.map((d) => new Option(d, d)));
    document.querySelectorAll("[data-download]").forEach((b) => {
      b.hidden = !["txt", "json", ...health.formats].includes(b.dataset.download);
    });
  } catch {
    showStatus("The service does not answer at /health.", "error");
  }
}

function setup() {
  $("#tab-image").addEventListener("click", () => selectTab("image"));
  $("#tab-draw").addEventListener("click", () => selectTab("draw"));
  $("#decoder").addEventListener("change", () => { if (state.input) read(state.input); });
  $("#preview").addEventListener("error", showAsRead);
  $("#prev").addEventListener("click", () => readFile(state.input.file, state.input.page - 1));
  $("#next").addEventListener("click", () => readFile(state.input.file, state.input.page + 1));
  $("#copy").addEventListener("click", (e) => copyText(e.currentTarget));
  document.querySelectorAll("[data-download]").forEach((b) => b.addEventListener("click", () => download(b.dataset.download)));
  for (const el of [$("#text"), $("#boxes")]) {
    el.addEventListener("mouseover", (e) => hover(e, true));
    el.addEventListener("mouseout", (e) => hover(e, false));
  }
  setupImageInput();
  setupPad();
  setupOptions();
}

setup();
