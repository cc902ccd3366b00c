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
  // A button elsewhere on the page opens a tab (data-show-tab="#tab-…"); also on load for a #tab-… address.
  function showTab(target) {
    var tab = target && document.querySelector('[data-bs-toggle="tab"][data-bs-target="' + target + '"]');
    if (tab && window.bootstrap) { bootstrap.Tab.getOrCreateInstance(tab).show(); }
  }
  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-show-tab]");
    if (opener) { showTab(opener.dataset.showTab); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    if (/^#tab-[\w-]+$/.test(window.location.hash)) { showTab(window.location.hash); }
  });
  // Saved filters keep the query the list shows now: the filter bar changes the URL without a reload.
  document.addEventListener("submit", function (event) {
    var field = event.target.closest("form[data-saved-filter-form]") && event.target.querySelector("input[name=querystring]");
    if (field) { field.value = window.location.search.replace(/^\?/, ""); }
  });
})();
