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
  const WIDE = window.matchMedia("(min-width: 60rem)");

  function enable(pan) {
    if (pan.panzoom) return;
    const zoom = window.Panzoom(pan, { minScale: 1, maxScale: 8, step: 0.5, contain: "outside", touchAction: AT_REST });
    pan.panzoom = zoom;
    pan.addEventListener("panzoomchange", (event) => {
      zoom.setOptions({ touchAction: event.detail.scale > 1.01 ? "none" : AT_REST });
    });
    const tools = pan.closest("figure").querySelector(".photo-tools");
    tools.hidden = false;
    // Beside the photo on a wide screen, the list of faces has room to stay open.
    const list = pan.closest(".capture-body").querySelector("details.face-list");
    if (list && WIDE.matches) list.open = true;
  }

  function enableAll() {
    app.querySelectorAll(".photo-pan").forEach(enable);
  }

  // A window made wide enough opens the lists, as a page loaded wide has them.
  WIDE.addEventListener("change", () => {
    if (WIDE.matches) app.querySelectorAll(".capture-body details.face-list").forEach((list) => { list.open = true; });
  });

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
    // A number on a card: the whole photo in view, its face highlighted (:target) on it.
    const ref = event.target.closest("a.face-ref");
    if (ref) {
      const mark = document.getElementById(ref.getAttribute("href").slice(1));
      if (!mark) return;
      event.preventDefault();
      window.location.hash = mark.id;
      mark.closest("figure").scrollIntoView({ block: "start" });
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

  // A face's line may be folded away with the list of faces: open it when it is the target.
  function openTarget() {
    const target = window.location.hash && document.getElementById(window.location.hash.slice(1));
    const fold = target && target.closest("details:not([open])");
    if (fold) {
      fold.open = true;
      target.scrollIntoView({ block: "start" });
    }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
})();
