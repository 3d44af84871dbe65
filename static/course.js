// The course page: the attendance grid opens on its newest sessions (its right end), where a
// teacher looks first; the names and the % stay in view by CSS (sticky columns) either way.
(function () {
  "use strict";
  document.querySelectorAll(".attendance-grid").forEach(function (grid) {
    grid.scrollLeft = grid.scrollWidth;
  });
})();
