// voiceline: every page works without JavaScript; this only helps keyboard users.
//  - the focus goes to a form's error summary where the browser ignored its autofocus;
//  - a box that scrolls sideways (a wide table or timeline on a phone) joins the tab order,
//    so the arrow keys can scroll it.
(function () {
  function scrollersFocusable() {
    document.querySelectorAll("main table, main .scroll").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.dataset.scrollFocus = "yes";
      } else if (!scrolls && box.dataset.scrollFocus === "yes") {
        box.removeAttribute("tabindex");
        delete box.dataset.scrollFocus;
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("error-summary");
    if (summary && document.activeElement !== summary) { summary.focus(); }
    scrollersFocusable();
  });
  window.addEventListener("resize", scrollersFocusable);
})();
