// Small enhancements; every page works without them.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-check-all], [data-check-none]");
    if (button) {
      var name = button.dataset.checkAll || button.dataset.checkNone;
      var checked = Boolean(button.dataset.checkAll);
      var form = button.closest("form");
      form.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (box) {
        box.checked = checked;
      });
      form.dispatchEvent(new Event("change", { bubbles: true }));
      return;
    }
    var closeLog = event.target.closest("[data-close-log]");
    var logSlot = document.getElementById("log-detail");
    if (closeLog && logSlot && logSlot.contains(closeLog)) {
      event.preventDefault();
      closeLogDetail();
      return;
    }
    var close = event.target.closest("[data-close-panel]");
    var panel = document.getElementById("request-panel");
    if (close && panel && panel.contains(close)) {
      event.preventDefault();
      closeRequestPanel();
      return;
    }
    var opener = event.target.closest("[hx-target='#log-detail']");
    if (opener) { logOpener = opener; }
    // One row menu open at a time; a click elsewhere closes it.
    document.querySelectorAll("details.row-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) { menu.removeAttribute("open"); }
    });
    // A log's whole row opens its drawer, as its "View JSON" link does (the link stays, for
    // the keyboard and for opening in a new tab).
    var logRow = event.target.closest("tr[data-opens-log]");
    if (logRow && !event.target.closest("a, button") && !window.getSelection().toString()) {
      var link = logRow.querySelector("a[hx-get]");
      if (link) { link.click(); }
      return;
    }
    var remove = event.target.closest("[data-remove-filter]");
    if (remove) { removeFilter(remove.closest(".filter-chip")); }
  });

  // Filters as chips: "Add a filter" shows a filter's chip and focuses its input; a chip's
  // remove button clears its inputs and hides it. Either way the preview and the URL follow.
  function removeFilter(chip) {
    chip.querySelectorAll("input").forEach(function (input) {
      if (input.type === "checkbox") { input.checked = false; } else { input.value = ""; }
    });
    chip.querySelectorAll(".field-error").forEach(function (error) { error.remove(); });
    chip.classList.add("is-unused");
    var add = chip.closest("form").querySelector("[data-add-filter]");
    if (add) { add.focus(); }
    chip.closest("form").dispatchEvent(new Event("change", { bubbles: true }));
  }

  function addFilter(select) {
    var chip = select.form.querySelector('.filter-chip[data-filter="' + select.value + '"]');
    select.value = "";
    if (!chip) { return; }
    chip.classList.remove("is-unused");
    var input = chip.querySelector("input");
    if (input) { input.focus(); }
  }

  // The Request Data form's choices live in the page's URL, so a reload or a shared link keeps
  // them (the page reads them back from the query string).
  function keepFormInUrl(form) {
    if (!form.matches(".request-form") || window.location.pathname !== "/exports/new/") { return; }
    var query = new URLSearchParams(new FormData(form));
    query.delete("csrfmiddlewaretoken");
    history.replaceState(history.state, "", "/exports/new/?" + query.toString());
  }

  var logOpener = null;

  function closeLogDetail() {
    var slot = document.getElementById("log-detail");
    if (!slot || !slot.firstElementChild) { return false; }
    slot.innerHTML = "";
    if (logOpener && document.body.contains(logOpener)) { logOpener.focus(); }
    return true;
  }

  // The panel's URL (/exports/new/) was pushed when it opened; closing it goes back to the list's.
  function closeRequestPanel() {
    var panel = document.getElementById("request-panel");
    if (!panel || !panel.firstElementChild) { return false; }
    panel.innerHTML = "";
    var list = document.querySelector("[data-close-panel]") || null;
    if (window.location.pathname !== "/") {
      history.pushState({}, "", list ? list.getAttribute("href") : "/");
    }
    var opener = document.querySelector(".page-header [hx-target='#request-panel']");
    if (opener) { opener.focus(); }
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented) { return; }
    if (confirmDialog && confirmDialog.open) { return; }  // the dialog closes itself
    var menu = document.querySelector("details.row-menu[open]");
    if (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
      event.preventDefault();
      return;
    }
    if (closeLogDetail() || closeRequestPanel()) { event.preventDefault(); }
  });

  // A destructive form (data-confirm) asks first, in the page's own modal <dialog>: focus stays
  // inside it, Esc or "Keep" closes it and nothing is sent. Caught while the submit event
  // goes down to the form, so neither the browser nor htmx acts on it until it is confirmed.
  var confirmDialog = null;
  var pending = null;

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var dialog = document.getElementById("confirm-dialog");
    if (!form.dataset || !form.dataset.confirm || !dialog || !dialog.showModal) { return; }
    if (form.dataset.confirmed) { delete form.dataset.confirmed; return; }
    event.preventDefault();
    event.stopPropagation();
    pending = { form: form, submitter: event.submitter || null };
    dialog.querySelector("#confirm-title").textContent = form.dataset.confirmTitle || "Are you sure?";
    dialog.querySelector("#confirm-text").textContent = form.dataset.confirm;
    dialog.querySelector("[data-confirm-go]").textContent = form.dataset.confirmGo || "Confirm";
    dialog.querySelector("[data-confirm-keep]").textContent = form.dataset.confirmKeep || "Keep it";
    dialog.returnValue = "";
    confirmDialog = dialog;
    dialog.showModal();
    dialog.querySelector("[data-confirm-keep]").focus();  // the safe choice comes first
  }, true);

  document.addEventListener("close", function (event) {
    if (event.target !== confirmDialog || !pending) { return; }
    var wanted = pending;
    pending = null;
    if (confirmDialog.returnValue === "confirm" && document.body.contains(wanted.form)) {
      wanted.form.dataset.confirmed = "1";
      wanted.form.requestSubmit(wanted.submitter && wanted.form.contains(wanted.submitter) ? wanted.submitter : undefined);
    } else if (wanted.submitter && document.body.contains(wanted.submitter)) {
      wanted.submitter.focus();
    }
  }, true);

  // Tab and Shift+Tab go round the dialog's buttons, never out of it.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Tab" || !confirmDialog || !confirmDialog.open) { return; }
    var stops = confirmDialog.querySelectorAll("button");
    var first = stops[0];
    var last = stops[stops.length - 1];
    if (event.shiftKey && document.activeElement === first) { last.focus(); event.preventDefault(); }
    else if (!event.shiftKey && document.activeElement === last) { first.focus(); event.preventDefault(); }
    else if (!confirmDialog.contains(document.activeElement)) { first.focus(); event.preventDefault(); }
  });

  // An inline error speaks of the value that was sent; once the user changes that part of the
  // form it no longer applies, so it goes (the server checks again on the next submit).
  function clearStaleErrors(event) {
    var group = event.target.closest(".form-row, fieldset");
    if (group && event.target.form) {
      group.querySelectorAll(".field-error").forEach(function (error) { error.remove(); });
      markInvalidFields();
    }
  }
  document.addEventListener("input", clearStaleErrors);

  document.addEventListener("change", function (event) {
    clearStaleErrors(event);
    if (event.target.matches("select[data-autosubmit]")) {
      event.target.form.requestSubmit();
    }
    if (event.target.matches("select[data-add-filter]")) {
      addFilter(event.target);
    }
    var form = event.target.form || (event.target.matches && event.target.matches("form") && event.target);
    if (form) { keepFormInUrl(form); }
  });

  // Errors on the field: every input that names a message slot (aria-describedby="errors-…")
  // is marked invalid while that slot holds a message, whichever response filled it.
  function markInvalidFields() {
    document.querySelectorAll("[aria-describedby*='errors-']").forEach(function (control) {
      var invalid = control.getAttribute("aria-describedby").split(" ").some(function (id) {
        var slot = document.getElementById(id);
        return slot && slot.classList.contains("error-slot") && slot.querySelector(".field-error");
      });
      if (control.matches("input, select, textarea")) {
        if (invalid) { control.setAttribute("aria-invalid", "true"); }
        else { control.removeAttribute("aria-invalid"); }
      }
    });
  }
  document.addEventListener("htmx:afterSettle", markInvalidFields);
  document.addEventListener("DOMContentLoaded", markInvalidFields);

  // Enter while the request is blocked: take the keyboard to the first field marked invalid.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !event.target.form || event.target.matches("textarea, button")) {
      return;
    }
    var blocked = event.target.form.querySelector(".request-submit:disabled");
    var invalid = blocked && event.target.form.querySelector("[aria-invalid=true]");
    if (invalid && invalid !== event.target) {
      event.preventDefault();
      invalid.focus();
    }
  });

  // A row redrawn by its own action or by polling would drop the keyboard focus to the top of
  // the page: keep it on the same control of the new row, or on the row's first action.
  var rowFocus = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target.classList && target.classList.contains("export-row") &&
        target.contains(document.activeElement)) {
      rowFocus = { id: target.id, label: document.activeElement.getAttribute("aria-label") };
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!rowFocus) { return; }
    var row = document.getElementById(rowFocus.id);
    var wanted = rowFocus;
    rowFocus = null;
    if (!row || (document.activeElement && document.activeElement !== document.body)) { return; }
    var same = Array.prototype.find.call(row.querySelectorAll("[aria-label]"), function (node) {
      return node.getAttribute("aria-label") === wanted.label;
    });
    var control = same || row.querySelector(".actions button, .actions a");
    if (control) { control.focus(); }
  });

  function focusHeading(container) {
    var heading = container.querySelector("h2");
    if (!heading) { return false; }
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
    container.scrollIntoView({ block: "start" });
    return true;
  }

  // Bring a freshly opened panel or log into view and focus its heading; after a request,
  // focus moves to the new draft's Start button, or to a started export's name.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target.id === "request-panel" && !focusHeading(target)) {
      var next = document.querySelector("#export-rows tr.is-new[data-status=draft] .actions button") ||
        document.querySelector("#export-rows tr.is-new .export-title");
      if (next) { next.focus(); }
    }
    if (target.id === "log-detail") { focusHeading(target); }
  });
})();
