// The browser camera of the enrolment and session pages: starting it, saying in words a person
// can act on why it did not start, and stopping it (the camera's light goes off).
window.RollCallCamera = (function () {
  "use strict";

  const PROBLEMS = {
    NotFoundError: "No camera was found on this device.",
    OverconstrainedError: "No camera was found on this device.",
    NotAllowedError: "Camera access was refused: allow it in the browser's site settings, then try again.",
    SecurityError: "Camera access was refused: allow it in the browser's site settings, then try again.",
    NotReadableError: "The camera is in use by another app: close it there, then try again.",
    AbortError: "The camera is in use by another app: close it there, then try again.",
  };

  function problem(error) {
    return PROBLEMS[error.name] || "The camera could not be started (" + error.message + ").";
  }

  // Resolves once the first frame has arrived (until then the video has no size and a shot
  // would be empty); rejects with an Error whose message is for the person at the page.
  async function start(video, constraints) {
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error("The camera needs HTTPS: open this page at its https:// address.");
    }
    try {
      video.srcObject = await navigator.mediaDevices.getUserMedia({ video: constraints, audio: false });
    } catch (error) {
      throw new Error(problem(error));
    }
    if (video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA) {
      await new Promise((resolve) => video.addEventListener("loadeddata", resolve, { once: true }));
    }
  }

  function stop(video) {
    if (video.srcObject) video.srcObject.getTracks().forEach((track) => track.stop());
    video.srcObject = null;
  }

  return { start: start, stop: stop };
})();
