// Enrolment by camera: each shot goes to the server at once and waits there for the worker,
// which accepts it when it shows one face, large and sharp enough, and otherwise says why.
// The page polls the shot's status URL until the worker has decided.
(function () {
  "use strict";
  const app = document.getElementById("enrol-app");
  if (!app) return;
  const video = document.getElementById("enrol-video");
  const startButton = document.getElementById("enrol-start");
  const shootButton = document.getElementById("enrol-shoot");
  const result = document.getElementById("enrol-result");
  const shots = document.getElementById("enrol-shots");
  const csrfToken = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const POLL_MS = 1000;
  // The worker may be busy with class photos; past this the page stops waiting, the shot does not.
  const GIVE_UP_MS = 5 * 60 * 1000;

  async function verdictOf(body) {
    const deadline = Date.now() + GIVE_UP_MS;
    while (body.accepted === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const response = await fetch(body.status_url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) body = await response.json();
    }
    return body;
  }

  function show(body) {
    if (body.accepted === true || body.held) {
      result.textContent = body.accepted
        ? gettext("Accepted and saved. Take another from a slightly different angle, or stop here.")
        : interpolate(gettext("Saved, but not used until a school admin approves it in the review queue: %(reason)s"), { reason: body.reason }, true);
      const image = document.createElement("img");
      image.src = body.url;
      image.alt = body.accepted ? gettext("New enrolment photo") : gettext("New enrolment photo (waiting for approval)");
      shots.prepend(image);
      const none = document.getElementById("no-shots");
      if (none) none.remove();
    } else if (body.accepted === false) {
      result.textContent = interpolate(gettext("Not used: %(reason)s"), { reason: body.reason }, true);
    } else {
      result.textContent = gettext("The shot is saved but not checked yet: the worker is busy. Its status shows on this page later.");
    }
  }

  const stopButton = document.getElementById("enrol-stop");

  startButton.addEventListener("click", async () => {
    try {
      result.textContent = window.RollCallCamera.describe(await window.RollCallCamera.start(video));
    } catch (error) {
      result.textContent = error.message;
      result.classList.add("problem");
      return;
    }
    result.classList.remove("problem");
    startButton.disabled = true;
    shootButton.disabled = false;
    stopButton.disabled = false;
  });

  stopButton.addEventListener("click", () => {
    window.RollCallCamera.stop(video);
    startButton.disabled = false;
    shootButton.disabled = true;
    stopButton.disabled = true;
  });

  shootButton.addEventListener("click", () => {
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    shootButton.disabled = true;
    result.textContent = gettext("Checking the photo…");
    canvas.toBlob(async (blob) => {
      const form = new FormData();
      form.append("image", blob, "enrolment.jpg");
      try {
        const response = await fetch(app.dataset.checkUrl, {
          method: "POST", body: form, credentials: "same-origin", headers: { "X-CSRFToken": csrfToken },
        });
        show(await verdictOf(await response.json()));
      } catch (error) {
        result.textContent = gettext("Could not reach the server. Check the connection and try again.");
      } finally {
        shootButton.disabled = !video.srcObject;
      }
    }, "image/jpeg", 0.92);
  });
})();
