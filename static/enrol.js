// Enrolment by camera: each shot goes to the server at once, which keeps it only when it shows
// one face, large and sharp enough, and otherwise says why.
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

  const stopButton = document.getElementById("enrol-stop");

  startButton.addEventListener("click", async () => {
    try {
      await window.RollCallCamera.start(video, { width: { ideal: 1280 } });
    } catch (error) {
      result.textContent = error.message;
      result.classList.add("problem");
      return;
    }
    result.textContent = "";
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
    result.textContent = "Checking the photo…";
    canvas.toBlob(async (blob) => {
      const form = new FormData();
      form.append("image", blob, "enrolment.jpg");
      try {
        const response = await fetch(app.dataset.checkUrl, {
          method: "POST", body: form, credentials: "same-origin", headers: { "X-CSRFToken": csrfToken },
        });
        const body = await response.json();
        if (body.accepted) {
          result.textContent = "Accepted and saved. Take another from a slightly different angle, or stop here.";
          const image = document.createElement("img");
          image.src = body.url;
          image.alt = "New enrolment photo";
          shots.prepend(image);
          const none = document.getElementById("no-shots");
          if (none) none.remove();
        } else {
          result.textContent = "Not used: " + body.reason;
        }
      } catch (error) {
        result.textContent = "Could not reach the server. Check the connection and try again.";
      } finally {
        shootButton.disabled = !video.srcObject;
      }
    }, "image/jpeg", 0.92);
  });
})();
