// A signature drawn on the phone's screen, for a handover of an errand's documents (templates/errands/_signature.html).
// Each [data-signature-pad] holds a canvas, a hidden input and a "clear" button: strokes drawn with a finger, a pen
// or a mouse are put in the input as a PNG (data:image/png;base64,...) when each stroke ends; the server keeps it as
// a file of the case and refuses an empty pad. Without this script the canvas stays hidden and the form asks for a
// photo of the signed slip instead (the file field beside it).
(function () {
  "use strict";

  function setUp(pad) {
    var canvas = pad.querySelector("canvas");
    var input = pad.querySelector("input[type=hidden]");
    var clear = pad.querySelector("[data-signature-clear]");
    if (!canvas || !input || !canvas.getContext) {
      return;
    }
    pad.hidden = false;
    var context = canvas.getContext("2d");
    var drawing = false;
    var last = null;

    // The canvas is drawn at the screen's pixel density, so that a signature is not blurred on a phone.
    function size() {
      var ratio = window.devicePixelRatio || 1;
      var box = canvas.getBoundingClientRect();
      if (!box.width) {
        return;
      }
      canvas.width = Math.round(box.width * ratio);
      canvas.height = Math.round(box.height * ratio);
      context.setTransform(ratio, 0, 0, ratio, 0, 0);
      context.lineWidth = 2.4;
      context.lineCap = "round";
      context.lineJoin = "round";
      context.strokeStyle = "#111";
      input.value = "";
      pad.classList.remove("signed");
    }

    function point(event) {
      var box = canvas.getBoundingClientRect();
      return {x: event.clientX - box.left, y: event.clientY - box.top};
    }

    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      drawing = true;
      last = point(event);
      if (canvas.setPointerCapture) {
        canvas.setPointerCapture(event.pointerId);
      }
      context.beginPath();
      context.arc(last.x, last.y, 1.2, 0, 2 * Math.PI);
      context.fillStyle = "#111";
      context.fill();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) {
        return;
      }
      event.preventDefault();
      var next = point(event);
      context.beginPath();
      context.moveTo(last.x, last.y);
      context.lineTo(next.x, next.y);
      context.stroke();
      last = next;
    });
    function end() {
      if (!drawing) {
        return;
      }
      drawing = false;
      input.value = canvas.toDataURL("image/png");
      pad.classList.add("signed");
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener("pointerleave", end);
    if (clear) {
      clear.addEventListener("click", function () {
        context.clearRect(0, 0, canvas.width, canvas.height);
        input.value = "";
        pad.classList.remove("signed");
      });
    }
    size();
    // Opening a closed <details> gives the canvas its size only then.
    var details = pad.closest("details");
    if (details) {
      details.addEventListener("toggle", function () {
        if (details.open && !input.value) {
          size();
        }
      });
    }
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-signature-pad]"), setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
