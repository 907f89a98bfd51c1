// Send the browser's time zone with the login form: an account without a zone adopts it,
// so every page shows times in the viewer's own clock. Without JavaScript: UTC, labelled.
document.addEventListener("DOMContentLoaded", function () {
  var field = document.querySelector("input[name=browser_zone]");
  try {
    if (field) { field.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; }
  } catch (e) { /* an old browser: the account keeps no zone */ }
});
