// Session page, roster: a status button saves through the API (PATCH) instead of reloading the
// page, then that row is replaced by its fresh rendering and says what was saved, where the
// teacher tapped. Without this script the same buttons post the form, and the page comes back
// at the row with the same words in it.
(function () {
  "use strict";
  const roster = document.getElementById("roster");
  if (!roster) return;

  function say(row, text, isError) {
    const notice = row.querySelector(".roster-notice");
    notice.replaceChildren();
    const line = document.createElement("span");
    line.className = isError ? "error" : "success";
    line.textContent = text;
    notice.append(line);
  }

  async function freshRow(id) {
    const response = await fetch(window.location.pathname, { credentials: "same-origin" });
    if (!response.ok) return null;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    return page.getElementById(id);
  }

  function refusal(body, status) {
    if (body.status) return body.status[0];
    if (body.reason) return body.reason[0];
    return body.detail || interpolate(gettext("the server refused it (%(status)s)"), { status }, true);
  }

  // Delegated: the page's other script re-renders the roster when a photo is recognised.
  roster.addEventListener("submit", async (event) => {
    const form = event.target.closest("form.roster-form");
    const button = event.submitter;
    if (!form || !button || !button.value) return;
    event.preventDefault();
    let row = form.closest(".roster-row");
    const name = row.querySelector(".roster-name").textContent;
    form.querySelectorAll("button").forEach((each) => { each.disabled = true; });
    let response;
    try {
      response = await fetch(form.dataset.apiUrl, {
        method: "PATCH",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json", Accept: "application/json",
          "X-CSRFToken": form.elements.csrfmiddlewaretoken.value,
        },
        body: JSON.stringify({ status: button.value, reason: form.elements.reason.value }),
      });
    } catch (error) {
      response = null;
    }
    form.querySelectorAll("button").forEach((each) => { each.disabled = false; });
    if (!response) {
      say(row, gettext("Not saved: the server could not be reached. Check the connection and try again."), true);
      return;
    }
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      say(row, interpolate(gettext("Not saved: %(reason)s"), { reason: refusal(body, response.status) }, true), true);
      return;
    }
    const saved = (await response.json()).status;
    const historyOpen = Boolean(row.querySelector(".roster-history details[open]"));
    const fresh = await freshRow(row.id).catch(() => null);
    if (fresh) {
      row.replaceWith(fresh);
      row = fresh;
      if (historyOpen) row.querySelector(".roster-history details").open = true;
      // Keep the keyboard where it was; it also keeps the other script from re-rendering the
      // roster under the teacher's hand.
      row.querySelector(`.status-choice[value="${saved}"]`).focus();
    } else {
      row.querySelectorAll(".status-choice").forEach((each) => each.setAttribute("aria-pressed", String(each.value === saved)));
    }
    const label = row.querySelector(`.status-choice[value="${saved}"]`).textContent.toLowerCase();
    say(row, interpolate(gettext("Saved: %(name)s is %(status)s."), { name, status: label }, true));
  });
})();
