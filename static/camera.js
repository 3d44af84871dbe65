// The browser camera of the enrolment and session pages: starting it, saying in words a person
// can act on why it did not start, and stopping it (the camera's light goes off).
window.RollCallCamera = (function () {
  "use strict";

  const PROBLEMS = {
    NotFoundError: gettext("No camera was found on this device."),
    OverconstrainedError: gettext("No camera was found on this device."),
    NotAllowedError: gettext("Camera access was refused: allow it in the browser's site settings, then try again."),
    SecurityError: gettext("Camera access was refused: allow it in the browser's site settings, then try again."),
    NotReadableError: gettext("The camera is in use by another app: close it there, then try again."),
    AbortError: gettext("The camera is in use by another app: close it there, then try again."),
  };

  function problem(error) {
    return PROBLEMS[error.name] || interpolate(gettext("The camera could not be started (%(error)s)."), { error: error.message }, true);
  }

  // Browsers give 640 x 480 unless asked for more, and faces at the back of a classroom need
  // every pixel: ask for 4K, and the browser picks what the camera offers nearest to it.
  const FULL_RESOLUTION = { width: { ideal: 3840 }, height: { ideal: 2160 } };

  // Resolves, once the first frame has arrived (until then the video has no size and a shot
  // would be empty), with the size of the frames the camera sends: {width, height}, what a shot
  // will be. Rejects with an Error whose message is for the person at the page.
  async function start(video) {
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error(gettext("The camera needs HTTPS: open this page at its https:// address."));
    }
    try {
      video.srcObject = await navigator.mediaDevices.getUserMedia({ video: FULL_RESOLUTION, audio: false });
    } catch (error) {
      throw new Error(problem(error));
    }
    if (video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA) {
      await new Promise((resolve) => video.addEventListener("loadeddata", resolve, { once: true }));
    }
    const settings = video.srcObject.getVideoTracks()[0].getSettings();
    return { width: settings.width || video.videoWidth, height: settings.height || video.videoHeight };
  }

  // What the page says of the camera's resolution, with advice where it is low.
  function describe(size) {
    const pixels = { width: size.width, height: size.height };
    if (size.width >= 1280) return interpolate(gettext("Camera on: %(width)s × %(height)s pixels."), pixels, true);
    return interpolate(gettext("Camera on: %(width)s × %(height)s pixels, the most this camera gives. Faces far from it may be too small to recognise: move it closer, or use a camera with a higher resolution."), pixels, true);
  }

  function stop(video) {
    if (video.srcObject) video.srcObject.getTracks().forEach((track) => track.stop());
    video.srcObject = null;
  }

  return { start: start, stop: stop, describe: describe };
})();
