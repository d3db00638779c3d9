/* hvkb "Was this draft right?": sends the feedback form in the background and says so in place.
 * Loaded by views/answer.html and history/entry.html when history is on. Without it the form is a
 * plain POST that answers with a "Thanks" page. No innerHTML: messages are set as text. */
(function () {
  "use strict";

  function setup(form) {
    var status = form.querySelector(".feedback-status");
    var controls = form.querySelectorAll("button, input, textarea");

    function say(text, isError) {
      status.textContent = text;
      status.classList.toggle("feedback-error", !!isError);
    }

    function enable(on) {
      Array.prototype.forEach.call(controls, function (c) { c.disabled = !on; });
    }

    form.addEventListener("submit", function (event) {
      if (!window.fetch || !window.FormData || !window.URLSearchParams) return;  // the plain POST does it
      event.preventDefault();
      var data = new FormData(form);
      var button = event.submitter;
      if (button && button.name) data.set(button.name, button.value);
      if (data.get("verdict") === "down" && !data.get("reason")) {
        say("Choose what was wrong first.", true);
        var first = form.querySelector("input[name=reason]");
        if (first) first.focus();
        return;
      }
      var body = new URLSearchParams(data);
      enable(false);
      say("Sending…", false);
      fetch(form.action, { method: "POST", body: body, credentials: "same-origin",
                           headers: { Accept: "application/json" } })
        .then(function (resp) {
          return resp.json().then(function (doc) { return { ok: resp.ok, doc: doc }; });
        })
        .then(function (r) {
          if (r.ok) {
            say(r.doc.message, false);
            form.classList.add("feedback-done");
          } else {
            say(r.doc && r.doc.error ? r.doc.error : "The feedback was not accepted.", true);
            enable(true);
          }
        })
        .catch(function () {
          say("The feedback could not be sent; try again.", true);
          enable(true);
        });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-feedback]"), setup);
})();
