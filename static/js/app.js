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
      logSlot.innerHTML = "";
      return;
    }
    var close = event.target.closest("[data-close-panel]");
    var panel = document.getElementById("request-panel");
    if (close && panel && panel.contains(close)) {
      event.preventDefault();
      panel.innerHTML = "";
    }
  });

  // An inline error speaks of the value that was sent; once the user changes that part of the
  // form it no longer applies, so it goes (the server checks again on the next submit).
  function clearStaleErrors(event) {
    var group = event.target.closest(".form-row, fieldset");
    if (group && event.target.form) {
      group.querySelectorAll(".field-error").forEach(function (error) { error.remove(); });
    }
  }
  document.addEventListener("input", clearStaleErrors);

  document.addEventListener("change", function (event) {
    clearStaleErrors(event);
    if (event.target.matches("select[data-autosubmit]")) {
      event.target.form.requestSubmit();
    }
  });

  // Bring a freshly opened panel into view and focus its heading.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id === "request-panel") {
      var heading = event.detail.target.querySelector("h2");
      if (heading) {
        heading.setAttribute("tabindex", "-1");
        heading.focus({ preventScroll: true });
        event.detail.target.scrollIntoView({ block: "start" });
      }
    }
  });
})();
