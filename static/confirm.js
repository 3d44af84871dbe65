// A form with data-confirm asks its question before it is sent (removing a photo, cancelling a
// session): a cancelled dialog sends nothing. Without this script the form is sent as it is.
(function () {
  "use strict";
  document.addEventListener("submit", (event) => {
    const question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });
})();
