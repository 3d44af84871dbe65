// Names for the widgets Django's admin draws with JavaScript, which it leaves without one
// (axe-core finds them: tests/web/test_accessibility.py). They are drawn at different moments
// (on load, when jQuery is ready, when a formset row is added), so each is named as it appears.
"use strict";

function nameAdminWidgets() {
  // The search icons of a two-box selector carry an aria-label on a plain <span>, which has no
  // role to carry a name (aria-prohibited-attr): they are images of a magnifying glass.
  document.querySelectorAll(".selector .search-label-icon[aria-label]:not([role])").forEach((icon) => {
    icon.setAttribute("role", "img");
  });
  // An inline table's inputs sit under their column's header, which labels none of them
  // (label): each input without a name is named by its column's header, the delete box by the
  // last one ("Delete?").
  document.querySelectorAll(".inline-related.tabular table").forEach((table, number) => {
    const headers = table.querySelectorAll("thead th");
    table.querySelectorAll("tbody td").forEach((cell) => {
      const column = [...cell.classList].find((name) => name.startsWith("field-"));
      const header = column
        ? table.querySelector(`thead th.column-${column.slice("field-".length)}`)
        : cell.classList.contains("delete") && headers[headers.length - 1];
      if (!header) return;
      header.id = header.id || `inline-${number}-${column || "delete"}`;
      cell.querySelectorAll("input:not([type=hidden]), select, textarea").forEach((input) => {
        if (!input.labels.length && !input.hasAttribute("aria-label") && !input.hasAttribute("aria-labelledby")) {
          input.setAttribute("aria-labelledby", header.id);
        }
      });
    });
  });
  // An autocomplete field (Select2) names its combobox by the choice shown, which is nothing
  // while empty (aria-input-field-name): name it by the field's label, then the choice.
  document.querySelectorAll("select.admin-autocomplete").forEach((select) => {
    const label = document.querySelector(`label[for="${select.id}"]`);
    const box = select.nextElementSibling;
    if (!label || !box || !box.classList.contains("select2")) return;
    label.id = label.id || `${select.id}_label`;
    const combobox = box.querySelector('[role="combobox"]');
    const shown = box.querySelector('[role="textbox"]');
    if (combobox) combobox.setAttribute("aria-labelledby", [label.id, shown && shown.id].filter(Boolean).join(" "));
    if (shown) shown.setAttribute("aria-labelledby", label.id);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  nameAdminWidgets();
  // Only added and removed elements are watched, not attributes: naming does not wake it again.
  new MutationObserver(nameAdminWidgets).observe(document.body, { childList: true, subtree: true });
});
