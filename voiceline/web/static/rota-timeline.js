// Progressive enhancement of the rota timeline (the page works without it): a block whose
// label does not fit at the width it really has shows no text, and its shift joins the
// row's list below, so a label is never cut to a few letters.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".timeline .tl-row").forEach(function (row) {
    row.querySelectorAll(".tl-block:not(.tl-bare) .tl-text").forEach(function (text) {
      if (text.scrollWidth <= text.clientWidth + 1) { return; }
      var block = text.parentElement;
      text.hidden = true;
      block.classList.add("tl-bare");
      var next = row.nextElementSibling;
      if (!next || !next.classList.contains("tl-listrow")) {
        next = document.createElement("div");
        next.className = "tl-row tl-listrow";
        next.innerHTML = '<div class="tl-label muted"></div><ul class="tl-list"></ul>';
        next.firstChild.textContent = row.querySelector(".tl-label").textContent + ": too short to label";
        row.parentNode.insertBefore(next, row.nextSibling);
      }
      var item = document.createElement("li");
      var swatch = document.createElement("span");
      swatch.className = "swatch " + block.className.split(" ").filter(function (c) { return /^(c\d+|gap|override)$/.test(c); }).join(" ");
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(block.querySelector(".tl-tip").textContent));
      next.querySelector("ul").appendChild(item);
    });
  });
});
