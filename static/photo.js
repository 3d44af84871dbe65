// Session page, the photos: zoom with a pinch or the buttons above the photo (Panzoom, vendored
// under static/vendor/panzoom/), and the links between a face on the photo and its card. The
// links work without this script (plain anchors, highlighted by :target in rollcall.css).
(function () {
  "use strict";
  const app = document.getElementById("session-app");
  if (!app || !window.Panzoom) return;

  // At the photo's own size one finger still scrolls the page up and down, and two pinch; once
  // zoomed in, one finger moves the photo.
  const AT_REST = "pan-y";

  function enable(pan) {
    if (pan.panzoom) return;
    const zoom = window.Panzoom(pan, { minScale: 1, maxScale: 8, step: 0.5, contain: "outside", touchAction: AT_REST });
    pan.panzoom = zoom;
    pan.addEventListener("panzoomchange", (event) => {
      zoom.setOptions({ touchAction: event.detail.scale > 1.01 ? "none" : AT_REST });
    });
    const tools = pan.closest("figure").querySelector(".photo-tools");
    tools.hidden = false;
  }

  function enableAll() {
    app.querySelectorAll(".photo-pan").forEach(enable);
  }

  // The page's other script replaces photos as they are recognised.
  new MutationObserver(enableAll).observe(app, { childList: true, subtree: true });
  enableAll();

  app.addEventListener("click", (event) => {
    const button = event.target.closest("[data-zoom]");
    if (button) {
      const pan = button.closest("figure").querySelector(".photo-pan");
      const zoom = pan && pan.panzoom;
      if (!zoom) return;
      if (button.dataset.zoom === "in") zoom.zoomIn();
      else if (button.dataset.zoom === "out") zoom.zoomOut();
      else zoom.reset();
      return;
    }
    // A face whose card is not shown (only the first people are asked at once): its line in the
    // list of faces instead.
    const mark = event.target.closest("a.mark");
    if (mark) {
      const target = mark.getAttribute("href").slice(1);
      if (!document.getElementById(target)) {
        event.preventDefault();
        window.location.hash = "face-" + mark.dataset.face;
      }
    }
  });
})();
