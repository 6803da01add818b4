// Tell the user when an htmx request fails instead of silently doing nothing.
document.addEventListener("DOMContentLoaded", function () {
  var toast = document.getElementById("htmx-error");
  function show(message) {
    if (!toast) return;
    toast.textContent = message;
    toast.hidden = false;
    clearTimeout(show.timer);
    show.timer = setTimeout(function () { toast.hidden = true; }, 6000);
  }
  // The server names the problem itself (HX-Trigger: portal:error) when it can.
  document.body.addEventListener("portal:error", function (event) {
    show(event.detail.message);
  });
  document.body.addEventListener("htmx:responseError", function (event) {
    if (event.detail.xhr.getResponseHeader("HX-Trigger")) return;
    var status = event.detail.xhr.status;
    if (status === 403) show("You are not allowed to do that.");
    else if (status === 404) show("That item no longer exists.");
    else if (status === 429) show("Too many requests. Wait a moment and try again.");
    else show("Something went wrong (" + status + "). Please try again.");
  });
  document.body.addEventListener("htmx:sendError", function () {
    show("Could not reach the server. Check your connection and try again.");
  });
});

// Copy buttons: <button data-copy="text">. Clipboard where the browser allows it.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var text = button.getAttribute("data-copy");
  var done = function () { button.textContent = "Copied"; };
  if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, function () {});
});
