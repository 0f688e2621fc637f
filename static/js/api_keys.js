// The API keys page: a Copy button for the key that is shown once. Without JavaScript the key
// stays selectable in its read-only box and the button stays hidden.
(function () {
  "use strict";

  function showCopyButtons(root) {
    root.querySelectorAll("button[data-copy][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }

  function copied(button) {
    button.textContent = "Copied";
    button.setAttribute("aria-live", "polite");
  }

  document.addEventListener("DOMContentLoaded", function () { showCopyButtons(document); });
  document.addEventListener("htmx:load", function (event) {
    showCopyButtons(event.target);
    // After a create, keyboard and screen-reader users land on the new key, or on what to fix.
    var target = event.target.querySelector("#new-api-key, [aria-invalid=true]");
    if (target) {
      target.focus();
      if (target.id === "new-api-key") {
        target.select();
      }
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) {
      return;
    }
    var field = document.querySelector(button.dataset.copy);
    if (!field) {
      return;
    }
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () { copied(button); }, function () {
        button.textContent = "Press Ctrl+C to copy";
      });
    } else if (document.execCommand("copy")) {
      copied(button);
    } else {
      button.textContent = "Press Ctrl+C to copy";
    }
  });
})();
