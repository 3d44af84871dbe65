// Session page: upload photos (file picker or drag and drop), take camera snapshots, and keep
// the captures and the roster current by polling the captures JSON. The server renders every
// part of the page: when a capture changes, only the parts it changed are fetched and replaced.
// Corrections of faces are plain forms, which work without this script.
(function () {
  "use strict";
  const app = document.getElementById("session-app");
  if (!app) return;
  const capturesUrl = app.dataset.capturesUrl;
  const csrfToken = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const uploadLog = document.getElementById("upload-log");
  const POLL_MS = 2500;

  function logLine(text, isError) {
    const item = document.createElement("li");
    item.textContent = text;
    if (isError) item.className = "error";
    uploadLog.prepend(item);
    while (uploadLog.children.length > 5) uploadLog.lastChild.remove();
  }

  async function upload(blob, name, source) {
    const form = new FormData();
    form.append("image", blob, name);
    form.append("source", source);
    try {
      const response = await fetch(capturesUrl, {
        method: "POST", body: form, credentials: "same-origin", headers: { "X-CSRFToken": csrfToken },
      });
      if (response.status === 202) {
        logLine(interpolate(gettext("%(name)s: sent. Its progress shows under Captures."), { name }, true));
      } else {
        const body = await response.json().catch(() => ({}));
        const reason = (body.image && body.image[0]) || (body.taken_at && body.taken_at[0]) || body.detail || interpolate(gettext("the server refused it (%(status)s)"), { status: response.status }, true);
        logLine(interpolate(gettext("%(name)s: not accepted. %(reason)s"), { name, reason }, true), true);
      }
    } catch (error) {
      logLine(interpolate(gettext("%(name)s: could not reach the server. Check the connection and try again."), { name }, true), true);
    }
    poll();
  }

  // Photos: a file picker and a drop zone around it.
  const input = document.getElementById("photo-input");
  const dropzone = document.getElementById("dropzone");
  input.addEventListener("change", () => {
    for (const file of input.files) upload(file, file.name, "photo");
    input.value = "";
  });
  ["dragenter", "dragover"].forEach((type) => dropzone.addEventListener(type, (event) => {
    event.preventDefault();
    dropzone.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((type) => dropzone.addEventListener(type, () => dropzone.classList.remove("over")));
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    for (const file of event.dataTransfer.files) upload(file, file.name, "photo");
  });

  // Camera snapshots: one click, or every N seconds while the page is open.
  const video = document.getElementById("camera-video");
  const startButton = document.getElementById("camera-start");
  const snapButton = document.getElementById("camera-snap");
  const autoBox = document.getElementById("camera-auto");
  const intervalInput = document.getElementById("camera-interval");
  const cameraStatus = document.getElementById("camera-status");
  let autoTimer = null;

  const stopButton = document.getElementById("camera-stop");
  const cameraControls = [snapButton, autoBox, intervalInput, stopButton];

  let cameraOn = "";  // what the status says of the camera: on, and at which resolution

  startButton.addEventListener("click", async () => {
    video.hidden = false;  // shown before it starts: a hidden video may never play its first frame
    try {
      cameraOn = window.RollCallCamera.describe(await window.RollCallCamera.start(video));
    } catch (error) {
      video.hidden = true;
      cameraStatus.textContent = error.message;
      cameraStatus.classList.add("problem");
      return;
    }
    cameraStatus.classList.remove("problem");
    startButton.disabled = true;
    cameraControls.forEach((control) => { control.disabled = false; });
    cameraStatus.textContent = cameraOn;
  });

  stopButton.addEventListener("click", () => {
    clearInterval(autoTimer);
    autoTimer = null;
    autoBox.checked = false;
    window.RollCallCamera.stop(video);
    video.hidden = true;
    startButton.disabled = false;
    cameraControls.forEach((control) => { control.disabled = true; });
    cameraStatus.textContent = gettext("Camera off.");
  });

  function snapshot() {
    if (!video.videoWidth) return;
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    const name = interpolate(gettext("snapshot %(time)s"), { time: new Date().toLocaleTimeString([], { hour12: false }) }, true);
    canvas.toBlob((blob) => upload(blob, name, "camera"), "image/jpeg", 0.9);
  }

  function scheduleSnapshots() {
    clearInterval(autoTimer);
    autoTimer = null;
    if (!autoBox.checked) { cameraStatus.textContent = cameraOn; return; }
    const seconds = Math.max(5, Number(intervalInput.value) || 30);
    autoTimer = setInterval(snapshot, seconds * 1000);
    cameraStatus.textContent = cameraOn + " " + interpolate(gettext("A snapshot every %(seconds)s seconds while this page is open."), { seconds }, true);
  }
  snapButton.addEventListener("click", snapshot);
  autoBox.addEventListener("change", scheduleSnapshots);
  intervalInput.addEventListener("change", scheduleSnapshots);

  // Progress: compare each capture's status in the JSON with what the page shows, and fetch
  // only the parts of the page that changed (students/views.py session_parts): a capture's own
  // card when its status moves on, the list of photos when one arrives or goes, and "Who is
  // this?" and the roster once a capture is done (its faces may have marked someone).
  const partsUrl = app.dataset.partsUrl;

  function shownStatuses() {
    const shown = {};
    document.querySelectorAll("#capture-list [data-capture-id]").forEach((node) => { shown[node.dataset.captureId] = node.dataset.status; });
    return shown;
  }

  function changesOf(captures) {
    const shown = shownStatuses();
    const listed = new Set(captures.map((capture) => String(capture.id)));
    const arrived = captures.some((capture) => !(capture.id in shown));
    const gone = Object.keys(shown).some((id) => !listed.has(id));
    const moved = captures.filter((capture) => capture.id in shown && shown[capture.id] !== capture.status);
    const settled = gone || captures.some((capture) => capture.status === "done" && shown[capture.id] !== "done");
    return { list: arrived || gone, moved: moved.map((capture) => capture.id), settled: settled };
  }

  async function refreshParts(changes) {
    const query = new URLSearchParams();
    openedPhotos().forEach((id) => query.append("open", id));
    if (changes.list) query.append("part", "captures");
    else changes.moved.forEach((id) => query.append("capture", id));
    if (changes.settled) { query.append("part", "people"); query.append("part", "roster"); }
    const response = await fetch(partsUrl + "?" + query, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const parts = await response.json();
    if (parts.captures !== undefined) replaceList(parts.captures);
    Object.entries(parts.capture || {}).forEach(([id, html]) => replaceCard(id, html));
    if (parts.people !== undefined) replaceUnlessInUse(document.getElementById("who-is-this-part"), parts.people);
    if (parts.roster !== undefined) {
      const roster = document.getElementById("roster");
      // Do not replace a form the teacher is filling in.
      if (!roster.contains(document.activeElement)) roster.innerHTML = parts.roster;
      replaceUnlessInUse(document.getElementById("not-seen"), parts.not_seen);
    }
  }

  function fromHtml(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  // A part with a form the teacher is filling in (choosing who a face is) is not replaced under
  // their hands; the next change brings it up to date.
  function inUse(node) {
    return node && node.contains(document.activeElement) && document.activeElement.closest("form");
  }

  function replaceUnlessInUse(node, html) {
    if (node && !inUse(node)) node.replaceWith(fromHtml(html));
  }

  // Earlier photos the teacher opened are asked for in full, and come back open.
  function openedPhotos() {
    return [...document.querySelectorAll("#capture-list details[open][data-capture-id]")].map((node) => node.dataset.captureId);
  }

  function replaceList(html) {
    const list = document.getElementById("capture-list");
    if (!inUse(list)) list.replaceWith(fromHtml(html));
  }

  function replaceCard(id, html) {
    const card = document.querySelector('#capture-list [data-capture-id="' + id + '"]');
    if (card && !inUse(card)) card.replaceWith(fromHtml(html));
  }

  // An earlier photo is only a line until opened: opening it fetches the photo and its faces.
  document.getElementById("captures").addEventListener("toggle", async (event) => {
    const details = event.target;
    if (!details.open || !details.matches("details[data-capture-id]") || !details.querySelector(".capture-later")) return;
    const query = new URLSearchParams({ capture: details.dataset.captureId, open: details.dataset.captureId });
    const response = await fetch(partsUrl + "?" + query, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.ok) {
      const html = (await response.json()).capture[details.dataset.captureId];
      if (html && details.isConnected) details.replaceWith(fromHtml(html));
    }
  }, true);

  let polling = false;
  async function poll() {
    if (polling) return;
    polling = true;
    try {
      const response = await fetch(capturesUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) {
        const changes = changesOf(await response.json());
        if (changes.list || changes.moved.length || changes.settled) await refreshParts(changes);
      }
    } catch (error) {
      // The server is briefly unreachable: the next poll tries again.
    } finally {
      polling = false;
    }
  }
  setInterval(() => { if (document.visibilityState === "visible") poll(); }, POLL_MS);
})();
