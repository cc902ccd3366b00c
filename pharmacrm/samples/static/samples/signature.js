// The recipient signs on a canvas (signature_pad, served from node_modules); on submit the drawing goes into the
// form's hidden "signature" field as a PNG data: URL. An empty pad sends nothing, and the server says so.
(function () {
  "use strict";
  function setUp(wrapper) {
    var canvas = wrapper.querySelector("canvas");
    var form = wrapper.closest("form");
    var field = form.querySelector("input[name='signature']");
    if (!canvas || !field || typeof SignaturePad === "undefined") { return; }
    var pad = new SignaturePad(canvas, { backgroundColor: "rgb(255, 255, 255)", penColor: "rgb(0, 0, 80)" });
    function resize() {
      var ratio = Math.max(window.devicePixelRatio || 1, 1);
      var data = pad.isEmpty() ? null : pad.toData();
      canvas.width = canvas.offsetWidth * ratio;
      canvas.height = canvas.offsetHeight * ratio;
      canvas.getContext("2d").scale(ratio, ratio);
      pad.clear();
      if (data) { pad.fromData(data); }
    }
    window.addEventListener("resize", resize);
    resize();
    var clear = wrapper.querySelector("[data-signature-clear]");
    if (clear) { clear.addEventListener("click", function () { pad.clear(); field.value = ""; }); }
    form.addEventListener("submit", function () {
      field.value = pad.isEmpty() ? "" : pad.toDataURL("image/png");
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-signature-pad]").forEach(setUp);
  });
})();
