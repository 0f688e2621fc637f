// Swagger UI puts a link (the path) inside each operation's toggle button: a control inside a
// control, which screen readers cannot reach (axe: nested-interactive). Without its href the
// path stays as text and the button keeps working. Swagger UI re-renders, so keep watching.
(function () {
  function unlinkPaths() {
    document.querySelectorAll(".opblock-summary-control a.nostyle[href]").forEach(function (link) {
      link.removeAttribute("href");
    });
  }
  new MutationObserver(unlinkPaths).observe(document.body, {
    childList: true, subtree: true, attributes: true, attributeFilter: ["href"],
  });
  unlinkPaths();
})();
