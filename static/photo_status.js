// The admin's student page: an enrolment photo shows "Pending" until the worker has checked it.
// While any does, ask the server every few seconds where they are, and write the status and
// the reason in their rows, without a reload.
(function () {
  "use strict";
  const POLL_MS = 3000;
  const GIVE_UP_MS = 10 * 60 * 1000;  // a worker that is down: the page says so elsewhere
  const started = Date.now();

  function pending() {
    return [...document.querySelectorAll('.photo-status[data-status="pending"]')];
  }

  async function poll() {
    const waiting = pending();
    if (!waiting.length || Date.now() - started > GIVE_UP_MS) return;
    try {
      const response = await fetch(waiting[0].dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) {
        const photos = (await response.json()).photos;
        waiting.forEach((node) => {
          const photo = photos[node.dataset.photo];
          if (!photo) return;
          node.dataset.status = photo.status;
          node.textContent = photo.label;
          const reason = document.querySelector('.photo-reason[data-photo="' + node.dataset.photo + '"]');
          if (reason) reason.textContent = photo.reason;
        });
      }
    } catch (error) {
      // The server is briefly unreachable: the next poll tries again.
    }
    setTimeout(poll, POLL_MS);
  }
  document.addEventListener("DOMContentLoaded", () => setTimeout(poll, POLL_MS));
})();
