// PharmaCRM: show server messages as toasts; re-show toasts that htmx swaps in.
(function () {
  function showToasts(root) {
    if (!window.bootstrap) return;
    root.querySelectorAll(".toast[data-autoshow]").forEach(function (el) {
      el.removeAttribute("data-autoshow");
      new bootstrap.Toast(el, { delay: 5000 }).show();
    });
  }
  document.addEventListener("DOMContentLoaded", function () { showToasts(document); });
  document.addEventListener("htmx:afterSettle", function (event) { showToasts(document); });
  // Rows with data-href open their record (a link stays the accessible way).
  document.addEventListener("click", function (event) {
    var row = event.target.closest("tr[data-href]");
    if (row && !event.target.closest("a, button, input")) { window.location = row.dataset.href; }
  });
})();
