// Check-in and check-out: one point from the browser's geolocation, put into the form and sent once.
// Nothing is watched or tracked: getCurrentPosition is called only when the rep taps the button.
(function () {
  "use strict";
  document.querySelectorAll("form[data-geo]").forEach(function (form) {
    var status = form.querySelector("[data-geo-status]");
    form.addEventListener("submit", function (event) {
      if (form.dataset.located === "1") { return; }
      event.preventDefault();
      if (!navigator.geolocation) {
        status.textContent = form.dataset.noGeo;
        return;
      }
      status.textContent = form.dataset.locating;
      navigator.geolocation.getCurrentPosition(function (position) {
        form.elements.latitude.value = position.coords.latitude.toFixed(6);
        form.elements.longitude.value = position.coords.longitude.toFixed(6);
        if (form.elements.accuracy) { form.elements.accuracy.value = Math.round(position.coords.accuracy); }
        form.dataset.located = "1";
        form.submit();
      }, function (error) {
        status.textContent = form.dataset.denied + " (" + error.message + ")";
      }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
    });
  });
})();
